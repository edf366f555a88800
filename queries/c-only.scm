; C patterns the C++ grammar cannot compile (it has no `macro_type_specifier`), so they
; are not part of the C++ query.

; `typedef EGLBoolean (EGLAPIENTRYP PFNEGLBINDAPIPROC) (EGLenum api);` reads as a macro
; call `EGLBoolean(EGLAPIENTRYP PFNEGLBINDAPIPROC)` whose "argument" is the name, followed
; by the parameters.
(type_definition
  type: (macro_type_specifier
    (ERROR) @_tolerate_errors
    .
    type: (type_descriptor type: (type_identifier) @name .))
  declarator: (parenthesized_declarator)) @definition.type
