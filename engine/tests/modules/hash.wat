;; A well-behaved contract using bytes32 and both hashes.
;; `sha(x: bytes32)`: field 4 := sha256(x).
;; `keccak()`: field 4 := keccak256("abc").
;; `rehash()`: field 4 := sha256(field 4), through field_get_bytes.
(module
  (import "sotto" "arg_get_bytes" (func $arg_get_bytes (param i32 i32)))
  (import "sotto" "field_get_bytes" (func $field_get_bytes (param i32 i32)))
  (import "sotto" "field_set_bytes" (func $field_set_bytes (param i32 i32)))
  (import "sotto" "hash" (func $hash (param i32 i32 i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 256) "abc")
  (func (export "call.sha")
    (call $arg_get_bytes (i32.const 0) (i32.const 0))
    (call $hash (i32.const 0) (i32.const 0) (i32.const 32) (i32.const 32))
    (call $field_set_bytes (i32.const 4) (i32.const 32)))
  (func (export "call.keccak")
    (call $hash (i32.const 1) (i32.const 256) (i32.const 3) (i32.const 64))
    (call $field_set_bytes (i32.const 4) (i32.const 64)))
  (func (export "call.rehash")
    (call $field_get_bytes (i32.const 4) (i32.const 96))
    (call $hash (i32.const 0) (i32.const 96) (i32.const 32) (i32.const 128))
    (call $field_set_bytes (i32.const 4) (i32.const 128))))
