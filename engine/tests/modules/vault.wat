;; The code of the hand-built artifact in tests/artifact.rs (fields: 0 count
;; u64, 1 secret private(alice) u64, 2 holder party; parties alice, bob).
;;
;; `pay(amount: u64) by alice` moves `amount` from alice to bob and counts.
;; `stash(x: private u64, note: u64) by alice` adds `x` to alice's secret in
;; the witness part (circuit variables: 0 x, 1 old secret, 2 new secret) and
;; reveals `x` as public input 0; the public part reads `note` as argument 0
;; and the revealed `x` as argument 1, and adds both to `count`.
(module
  (import "sotto" "arg_get" (func $arg_get (param i32) (result i64)))
  (import "sotto" "transfer" (func $transfer (param i32 i32 i64)))
  (import "sotto" "field_get" (func $field_get (param i32) (result i64)))
  (import "sotto" "field_set" (func $field_set (param i32 i64)))
  (import "sotto" "public_input" (func $public_input (param i32 i64)))
  (import "sotto" "private_get" (func $private_get (param i32) (result i64)))
  (import "sotto" "private_set" (func $private_set (param i32 i64)))
  (func (export "call.pay")
    (call $transfer (i32.const 0) (i32.const 1) (call $arg_get (i32.const 0)))
    (call $field_set (i32.const 0)
      (i64.add (call $field_get (i32.const 0)) (i64.const 1))))
  (func (export "call.stash")
    (call $field_set (i32.const 0)
      (i64.add
        (call $field_get (i32.const 0))
        (i64.add (call $arg_get (i32.const 0)) (call $arg_get (i32.const 1))))))
  (func (export "witness.stash")
    (call $private_set (i32.const 2)
      (i64.add (call $private_get (i32.const 0)) (call $private_get (i32.const 1))))
    (call $public_input (i32.const 0) (call $private_get (i32.const 0)))))
