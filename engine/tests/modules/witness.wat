;; A contract with a witness part: `deposit(amount: u64)` adds `amount` to
;; private variable 0 in the witness part, and counts deposits publicly.
(module
  (import "sotto" "arg_get" (func $arg_get (param i32) (result i64)))
  (import "sotto" "field_get" (func $field_get (param i32) (result i64)))
  (import "sotto" "field_set" (func $field_set (param i32 i64)))
  (import "sotto" "private_get" (func $private_get (param i32) (result i64)))
  (import "sotto" "private_set" (func $private_set (param i32 i64)))
  (func (export "call.deposit")
    (call $field_set (i32.const 0)
      (i64.add (call $field_get (i32.const 0)) (i64.const 1))))
  (func (export "witness.deposit")
    (call $private_set (i32.const 0)
      (i64.add (call $private_get (i32.const 0)) (call $arg_get (i32.const 0))))))
