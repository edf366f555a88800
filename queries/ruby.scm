; Ruby definitions, references and imports. Kinds: class, module, method,
; singleton_method (def self.x), constant (assignment to a constant), alias.

(call
  method: (identifier) @_require
  arguments: (argument_list . (string (string_content) @import.module))
  (#any-of? @_require "require" "load"))
(call
  method: (identifier) @_require
  arguments: (argument_list . (string (string_content) @import.path))
  (#eq? @_require "require_relative"))

(class name: [(constant) @name (scope_resolution name: (_) @name)]) @definition.class
(singleton_class value: [(constant) @name (scope_resolution name: (_) @name)]) @definition.class
(module name: [(constant) @name (scope_resolution name: (_) @name)]) @definition.module
(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.singleton_method
(alias name: (_) @name) @definition.alias
(assignment left: (constant) @name) @definition.constant
(assignment left: (scope_resolution name: (constant) @name)) @definition.constant

; References
(call method: (identifier) @name) @reference.call
(superclass (constant) @name) @reference.class
(superclass (scope_resolution name: (constant) @name)) @reference.class
(call receiver: (constant) @name) @reference.class
(call receiver: (scope_resolution name: (constant) @name)) @reference.class
