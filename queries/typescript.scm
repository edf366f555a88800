; TypeScript/TSX-only patterns (their query is this file followed by ecmascript.scm).
; Kinds added: interface, type (alias), enum, enumerator, namespace, module, property,
; and function/method signatures. `declare` forms (`declare function/class/const`,
; `declare module "x"`, `declare namespace N`) are found by the patterns of what they
; declare; the declarations inside `declare global {}` and namespaces are top-level ones.

; Signatures: overloads (`function f(a: A): R;` before the implementation), `declare
; function`, interface and abstract methods. Consecutive overloads of one name are one
; symbol, as ctags reports them: the first signature, spanning to the implementation (see
; `overload` in src/engine/parse.rs).
(function_signature name: (identifier) @name) @definition.function
; Method signatures of an interface, a class (overloads, `declare class`) or an object
; type named by a type alias; those of an anonymous type written inline
; (`f(x: { g(): void })`) are not definitions.
(interface_body
  (method_signature
    name: [(property_identifier) (computed_property_name) (string)] @name) @definition.method)
(class_body
  (method_signature
    name: [(property_identifier) (private_property_identifier) (computed_property_name) (string)] @name) @definition.method)
(type_alias_declaration
  value: (object_type
    (method_signature name: [(property_identifier) (computed_property_name) (string)] @name) @definition.method))
(abstract_method_signature
  name: [(property_identifier) (private_property_identifier) (computed_property_name) (string)] @name) @definition.method
(abstract_class_declaration name: (type_identifier) @name) @definition.class
; `declare module "x" {}` (an ambient module, named by its unquoted string) or `module M {}`.
(module name: [(identifier) (nested_identifier) (string)] @name) @definition.module
(internal_module name: [(identifier) (nested_identifier)] @name) @definition.namespace
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(enum_body (property_identifier) @name @definition.enumerator)
(enum_body (enum_assignment name: (property_identifier) @name) @definition.enumerator)
; Class fields (public, private `#x`, static, readonly, abstract, `declare`) and interface
; members; a constructor's parameter properties (`constructor(private x: T)`) are class
; properties too.
(public_field_definition
  name: [(property_identifier) (private_property_identifier) (computed_property_name) (string)] @name) @definition.property
; As for method signatures, only the members of an interface or a named object type.
(interface_body
  (property_signature name: [(property_identifier) (computed_property_name) (string)] @name) @definition.property)
(type_alias_declaration
  value: (object_type
    (property_signature name: [(property_identifier) (computed_property_name) (string)] @name) @definition.property))
(required_parameter [(accessibility_modifier) (override_modifier)] pattern: (identifier) @name) @definition.property
(required_parameter "readonly" pattern: (identifier) @name) @definition.property
(optional_parameter [(accessibility_modifier) (override_modifier)] pattern: (identifier) @name) @definition.property
(optional_parameter "readonly" pattern: (identifier) @name) @definition.property

; References
(extends_clause value: (identifier) @name) @reference.class
(implements_clause (type_identifier) @name) @reference.implementation
(extends_type_clause type: (type_identifier) @name) @reference.interface
(type_identifier) @name @reference.type
