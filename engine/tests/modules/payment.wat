;; A well-behaved contract: `payment(amount: u64, to: party)` moves `amount`
;; from party 0 to `to`, counts payments in field 0, publishes the amount as
;; public input 0 and awaits `to`. `settle()` silently hands 1 back to party 0
;; in the signed allocation only.
(module
  (import "sotto" "arg_get" (func $arg_get (param i32) (result i64)))
  (import "sotto" "transfer" (func $transfer (param i32 i32 i64)))
  (import "sotto" "field_get" (func $field_get (param i32) (result i64)))
  (import "sotto" "field_set" (func $field_set (param i32 i64)))
  (import "sotto" "public_input" (func $public_input (param i32 i64)))
  (import "sotto" "await_party" (func $await_party (param i32)))
  (import "sotto" "silent_transfer" (func $silent_transfer (param i32 i32 i64)))
  (import "sotto" "balance" (func $balance (param i32) (result i64)))
  (import "sotto" "now" (func $now (result i64)))
  (import "sotto" "finish" (func $finish))
  (func (export "call.payment")
    (call $transfer
      (i32.const 0)
      (i32.wrap_i64 (call $arg_get (i32.const 1)))
      (call $arg_get (i32.const 0)))
    (call $field_set (i32.const 0)
      (i64.add (call $field_get (i32.const 0)) (i64.const 1)))
    (call $public_input (i32.const 0) (call $arg_get (i32.const 0)))
    (call $await_party (i32.wrap_i64 (call $arg_get (i32.const 1)))))
  (func (export "call.settle")
    (call $await_party (i32.const 0))
    (call $silent_transfer (i32.const 1) (i32.const 0) (i64.const 1))
    ;; field 0 := balance(1) + now, flag := 1
    (call $field_set (i32.const 0)
      (i64.add (call $balance (i32.const 1)) (call $now)))
    (call $field_set (i32.const 1) (i64.const 1))
    (call $finish)))
