;; A well-behaved but fuel-hungry contract for determinism checks: a loop of
;; `n` (arg 0) iterations mixing integer ops, memory traffic and a hash.
(module
  (import "sotto" "arg_get" (func $arg_get (param i32) (result i64)))
  (import "sotto" "field_set" (func $field_set (param i32 i64)))
  (import "sotto" "field_set_bytes" (func $field_set_bytes (param i32 i32)))
  (import "sotto" "hash" (func $hash (param i32 i32 i32 i32)))
  (memory (export "memory") 1 2)
  (func (export "call.spin")
    (local $i i64) (local $acc i64) (local $n i64)
    (local.set $n (call $arg_get (i32.const 0)))
    (local.set $acc (i64.const 0x9e3779b97f4a7c15))
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (local.set $acc
          (i64.xor (i64.rotl (local.get $acc) (i64.const 13))
                   (i64.mul (local.get $i) (i64.const 0x100000001b3))))
        (i64.store (i32.and (i32.wrap_i64 (i64.shl (local.get $i) (i64.const 3))) (i32.const 1016))
                   (local.get $acc))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (drop (memory.grow (i32.const 1)))
    (call $hash (i32.const 0) (i32.const 0) (i32.const 1024) (i32.const 2048))
    (call $field_set_bytes (i32.const 4) (i32.const 2048))
    (call $field_set (i32.const 0) (local.get $acc))))
