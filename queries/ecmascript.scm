; Patterns shared by JavaScript, TypeScript and TSX (valid in all three grammars).
; Kinds: class, method (including getters and setters), function (declarations and
; functions assigned to a name), constant (top-level `const` of another value), variable
; (top-level `let`/`var`). Class fields are `field` in javascript.scm and `property` in
; typescript.scm (the two grammars name the node differently).

(import_statement source: (string) @import.path)
(export_statement source: (string) @import.path)
(call_expression function: (import) arguments: (arguments . (string) @import.path))
(call_expression
  function: (identifier) @_require
  arguments: (arguments . (string) @import.path)
  (#eq? @_require "require"))

(import_specifier name: (identifier) @name) @reference.import
(import_clause (identifier) @name) @reference.import
(namespace_import (identifier) @name) @reference.import

;; Methods, getters and setters (`get x()`/`set x(v)` are methods too), static or not,
;; named by an identifier, a private name (`#x`, kept with its `#`), a computed name
;; (`[Symbol.iterator]`, kept as written, as ctags does) or a string. A class's `static {}`
;; block has no name and is no symbol. Decorators (`@dec method() {}`) change nothing.
(method_definition
  name: [(property_identifier) (private_property_identifier) (computed_property_name) (string)] @name) @definition.method
; `export default class X {}` and `export default function f() {}` are declarations like any
; other; an anonymous default export (`export default class {}`, `export default () => 1`)
; has no name and is no symbol (ctags reports none either).
(class_declaration name: (_) @name) @definition.class
(class name: (_) @name) @definition.class
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression) (generator_function)]) @definition.function)
(variable_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression) (generator_function)]) @definition.function)
(assignment_expression
  left: [(identifier) @name (member_expression property: (property_identifier) @name)]
  right: [(arrow_function) (function_expression)]) @definition.function
(pair
  key: (property_identifier) @name
  value: [(arrow_function) (function_expression)]) @definition.function

; Top-level constants and variables (locals are dropped in code).
(lexical_declaration kind: "const" (variable_declarator name: (identifier) @name) @definition.constant)
(lexical_declaration kind: "let" (variable_declarator name: (identifier) @name) @definition.variable)
(variable_declaration (variable_declarator name: (identifier) @name) @definition.variable)

; References
(call_expression function: (identifier) @name) @reference.call
(call_expression function: (member_expression property: [(property_identifier) (private_property_identifier)] @name)) @reference.call
(new_expression constructor: (identifier) @name) @reference.class
(new_expression constructor: (member_expression property: (property_identifier) @name)) @reference.class
