; Rust definitions, references and imports. Kinds: module, struct, enum, union, type,
; trait, method (in impl/trait bodies), function, macro, constant, variable (static),
; field, enumerator.

(use_declaration argument: (_) @import.rust_use)
(mod_item name: (identifier) @import.rust_mod !body)

(mod_item name: (identifier) @name) @definition.module
(struct_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(union_item name: (type_identifier) @name) @definition.union
(type_item name: (type_identifier) @name) @definition.type
(trait_item name: (type_identifier) @name) @definition.trait

(impl_item body: (declaration_list (function_item name: (identifier) @name) @definition.method))
(trait_item body: (declaration_list (function_item name: (identifier) @name) @definition.method))
(trait_item body: (declaration_list (function_signature_item name: (identifier) @name) @definition.method))
(impl_item body: (declaration_list (const_item name: (identifier) @name) @definition.constant))
(trait_item body: (declaration_list (associated_type name: (type_identifier) @name) @definition.type))
(function_item name: (identifier) @name) @definition.function
; Functions declared in `extern "C" { ... }` blocks: FFI bindings are what a caller looks up.
(foreign_mod_item
  body: (declaration_list (function_signature_item name: (identifier) @name) @definition.function))
(macro_definition name: (identifier) @name) @definition.macro
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.variable
(field_declaration name: (field_identifier) @name) @definition.field
(enum_variant name: (identifier) @name) @definition.enumerator

; References
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (field_expression field: (field_identifier) @name)) @reference.call
(call_expression function: (scoped_identifier name: (identifier) @name)) @reference.call
(call_expression
  function: (generic_function function: [
    (identifier) @name
    (scoped_identifier name: (identifier) @name)
    (field_expression field: (field_identifier) @name)])) @reference.call
(macro_invocation macro: (identifier) @name) @reference.call
(macro_invocation macro: (scoped_identifier name: (identifier) @name)) @reference.call
(impl_item trait: (type_identifier) @name) @reference.implementation
(impl_item trait: (generic_type type: (type_identifier) @name)) @reference.implementation
(impl_item type: (type_identifier) @name) @reference.implementation
(type_identifier) @name @reference.type
