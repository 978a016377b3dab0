;;;; lib/evaluator.scm -- the meta-circular evaluator of dmci.
;;;;
;;;; An evaluator for the language of DESIGN §2, written in that language. The host
;;;; compiles this file once; the value of the file is the procedure `run-program`,
;;;; which evaluates a program handed to it as data. Decimal literals of that data
;;;; are the program's parameters, so gradients reach them through this evaluator
;;;; exactly as through compiled code. This file must use only the language it
;;;; implements (no vectors, no mutable pairs, no call/cc), so that it can also
;;;; evaluate itself.
;;;;
;;;; The plan is SICP §4.1.7: `analyze` walks each expression once and returns an
;;;; *execution procedure*, a procedure of the run-time environment; running the
;;;; program only calls execution procedures. Variables are resolved during analysis
;;;; to lexical addresses, so no name is looked up while the program runs.
;;;;
;;;; Sections follow the R7RS report: 1 run-time data, 2 running a program (the
;;;; host's entry), 3 primitive expression types (R7RS §4.1), 4 derived expression
;;;; types (§4.2), 5 program structure (§5), 6 procedures.

;;; ==============================================================================
;;; 1. Run-time data
;;; ==============================================================================

;; The value of expressions whose value R7RS leaves unspecified (set!, define, a
;; one-armed if whose test is false): the very value compiled code gives.
(define unspecified (if #f #f))

;; The contents of a variable that has no value yet: a global that is not defined
;; (yet), a letrec variable before its initialisation. A fresh pair: eq? to nothing
;; a program can make.
(define unassigned (list 'unassigned))

;; Tests for it ask pair? first: eq? on numbers compares values, which for a
;; parameter-dependent number costs a look at the tensor.

;; A cell holds the value of a variable that may change after its frame is made:
;; one assigned by set!, or one of letrec whose value is computed after the frame
;; exists. The language has no mutable pairs, so a cell is a procedure closed over
;; a variable of the evaluator: (cell #f #f) reads it, (cell #t v) writes it.
(define (make-cell value)
  (lambda (write? new)
    (if write? (set! value new) value)))

;; Environments. At run time an environment is a list of frames, innermost first,
;; and a frame is a list of values (or cells), one per variable, in the order the
;; analysis gave them. The frame of a procedure call is usually the very list of
;; its arguments. At analysis time a *scope* mirrors it: a list of frames, each a
;; list of (name . kind) where kind says how the slot holds the variable:
;;   value  the slot is the value;
;;   cell   the slot is a cell holding the value;
;;   tail   (a rest parameter) the variable is the list of the frame's slots from
;;          this position on, so a variadic call needs no new list.

;; The lexical address of a local variable: (depth index kind), or #f for a global.
(define (lookup name scope)
  (let next-frame ((scope scope) (depth 0))
    (if (null? scope)
        #f
        (let next-slot ((slots (car scope)) (index 0))
          (cond ((null? slots) (next-frame (cdr scope) (+ depth 1)))
                ((eq? (car (car slots)) name) (list depth index (cdr (car slots))))
                (else (next-slot (cdr slots) (+ index 1))))))))

;; A new scope frame for `names`: each variable is a cell if the program assigns it
;; anywhere (by name: conservative but simple), else a plain value.
(define (frame-for names)
  (map (lambda (name) (cons name (if (memq name assigned-names) 'cell 'value))) names))

;; The kinds of a scope frame as booleans (#t: the slot is a cell), or #f when no
;; slot is a cell, so the run-time frame is just the list of values.
(define (cell-slots frame)
  (if (memq 'cell (map cdr frame))
      (map (lambda (slot) (eq? (cdr slot) 'cell)) frame)
      #f))

;; The run-time frame for `values`, putting in a cell each value whose slot says so.
(define (fill-frame values boxed)
  (if boxed
      (map (lambda (value cell?) (if cell? (make-cell value) value)) values boxed)
      values))

;; The values of execution procedures `procs` in `env`, left to right, as a list.
(define (execute-each procs env)
  (if (null? procs)
      '()
      (let ((first ((car procs) env)))
        (cons first (execute-each (cdr procs) env)))))

;;; ==============================================================================
;;; 2. Running a program
;;; ==============================================================================

;; The host's error procedure, given to each run: (raise-error kind message cell)
;; raises an error of `kind` (a symbol: syntax, unbound, arity …) with `message`,
;; at the source position of the expression in the car of `cell`. It does not
;; return. The evaluator passes *cells* -- the pairs of the program whose car is
;; the expression at fault -- because a pair remembers where it was read, and the
;; pair holding a variable remembers where the variable was written.
(define raise-error #f)

;; The cell of the procedure call being made, set before every call. When a
;; primitive fails (car of a number, a wrong argument count, a user `error`) the
;; error is raised inside the host; the host then reads this variable, through the
;; procedure it is given at the start of each run, to report the program's call.
(define current #f)

;; The global environment of the program being run. Primitives the program never
;; defines nor assigns are constants, found in `primitive-globals`, an association
;; list from names to procedures given by the host. Every name the program defines
;; at top level or assigns is a *global*, found in `defined-globals` (below).
(define primitive-globals '())
(define defined-globals '())

;; Names assigned by set! anywhere in the program: variables of these names live in
;; cells.
(define assigned-names '())

;; Evaluates `program`, a list of top-level forms, and returns the value of its last
;; form. `primitives` is an association list from names to procedures: the initial
;; global environment. `raise` is the host's error procedure (see raise-error) and
;; `watch` is called once with a procedure that returns the current call's cell.
(define (run-program program primitives raise watch)
  (set! raise-error raise)
  (set! current #f)
  (watch (lambda () current))
  (set! primitive-globals primitives)
  (set! assigned-names (assigned-in program '()))
  (set! defined-globals
        (map (lambda (name) (cons name (make-global name (primitive-value name))))
             (append (defined-at-top-level (cells-of program)) assigned-names)))
  (execute-top-level (analyze-top-level (cells-of program))))

(define (primitive-value name)
  (let ((entry (assq name primitive-globals)))
    (if entry (cdr entry) unassigned)))

;; A global variable: a procedure closed over the variable's value that answers
;; three messages, each with the cell of the expression and returning an execution
;; procedure: `ref` reads the variable, `set!` assigns it the value of `exec`,
;; `define` defines it as the value of `exec`. Reading a global is thus one call
;; of a procedure that returns a variable of this closure.
(define (make-global name value)
  (lambda (message cell exec)
    (case message
      ((ref)
       (lambda (env)
         (if (and (pair? value) (eq? value unassigned)) (unbound-variable name cell) value)))
      ((set!)
       (lambda (env)
         (let ((new (exec env)))
           (if (and (pair? value) (eq? value unassigned)) (unbound-variable name cell))
           (set! value new)
           unspecified)))
      ((define)
       (lambda (env)
         (set! value (exec env))
         unspecified)))))

;; Errors the evaluator finds itself, with the messages compiled code gives.
(define (syntax-error message cell)
  (raise-error 'syntax message cell))

(define (unbound-variable name cell)
  (raise-error 'unbound (string-append "unbound variable: " (symbol->string name)) cell))

;; The names a program assigns with set!, outside quoted data, consed onto `names`.
(define (assigned-in x names)
  (cond ((not (pair? x)) names)
        ((eq? (car x) 'quote) names)
        ((and (eq? (car x) 'set!) (pair? (cdr x)) (symbol? (cadr x)))
         (assigned-in (cddr x) (cons (cadr x) names)))
        (else (assigned-in (cdr x) (assigned-in (car x) names)))))

;; The names defined by the top-level forms in `cells` (inside `begin` too).
(define (defined-at-top-level cells)
  (fold-left (lambda (names cell)
               (let ((form (car cell)))
                 (cond ((keyword? form 'begin)
                        (append names (defined-at-top-level (cells-of (cdr form)))))
                       ((and (keyword? form 'define) (pair? (cdr form)))
                        (let ((target (cadr form)))
                          (cond ((symbol? target) (cons target names))
                                ((and (pair? target) (symbol? (car target)))
                                 (cons (car target) names))
                                (else names))))
                       (else names))))
             '()
             cells))

;; The cells of a list: its pairs, each holding one element. A program, a body or
;; the operands of a call are analysed as the list of their cells.
(define (cells-of l)
  (if (pair? l) (cons l (cells-of (cdr l))) '()))

;;; ==============================================================================
;;; 3. Primitive expression types (R7RS §4.1)
;;; ==============================================================================

;; The special forms (DESIGN §2). None can be rebound: a program may not use these
;; names for variables, so a form whose head is one of them is that special form.
(define special-forms
  '(quote if define set! lambda begin let let* letrec letrec* cond case and or when unless do))

;; True when `form` is a list headed by the special form `name`.
(define (keyword? form name)
  (and (pair? form) (eq? (car form) name)))

;; The execution procedure of the expression in the car of `cell`, in `scope`.
(define (analyze cell scope)
  (let ((x (car cell)))
    (cond ((symbol? x) (analyze-variable x cell scope))
          ((pair? x) (analyze-form x cell scope))
          ((null? x) (syntax-error "empty combination (); to write the empty list use '()" cell))
          ;; §4.1.2 Literals: numbers (parameters of a model program included),
          ;; strings and booleans evaluate to themselves.
          (else (lambda (env) x)))))

(define (analyze-form form cell scope)
  (cond ((not (list? form))
         (syntax-error "a call or form must be a proper list" cell))
        ((memq (car form) special-forms)
         (analyze-special-form (car form) form cell scope))
        (else (analyze-call form cell scope))))

(define (analyze-special-form keyword form cell scope)
  (case keyword
    ((quote) (analyze-quote form cell))
    ((if) (analyze-if form cell scope))
    ((set!) (analyze-assignment form cell scope))
    ((lambda) (analyze-lambda form cell scope))
    ((define)
     (syntax-error "define is only allowed at top level or at the start of a body" cell))
    ((begin) (analyze-begin form cell scope))
    ((let) (analyze-let form cell scope))
    ((let*) (analyze-let* form cell scope))
    ((letrec letrec*) (analyze-letrec form cell scope))
    ((cond) (analyze-cond form cell scope))
    ((case) (analyze-case form cell scope))
    ((and) (analyze-and (cells-of (cdr form)) scope))
    ((or) (analyze-or (cells-of (cdr form)) scope))
    ((when unless) (analyze-when form cell scope))
    ((do) (analyze-do form cell scope))))

;; Checks that `form` has between `low` and `high` operands.
(define (check-operands form cell low high)
  (let ((n (- (length form) 1)))
    (if (or (< n low) (> n high))
        (syntax-error (string-append (symbol->string (car form)) ": expected "
                                     (if (= low high)
                                         (number->string low)
                                         (string-append (number->string low) " to "
                                                        (number->string high)))
                                     " operand(s), got " (number->string n))
                      cell))))

;; §4.1.1 Variable references. A local variable is read at its lexical address;
;; the common addresses get their own execution procedures.
(define (analyze-variable name cell scope)
  (let ((address (lookup name scope)))
    (cond (address (local-reference name (car address) (cadr address) (caddr address) cell))
          ((memq name special-forms)
           (syntax-error (string-append "'" (symbol->string name) "' is a special form, not a variable")
                         cell))
          (else (global-reference name cell)))))

(define (local-reference name depth index kind cell)
  (cond ((eq? kind 'tail)
         (lambda (env) (list-tail (list-ref env depth) index)))
        ((eq? kind 'cell)
         (lambda (env)
           (let ((value ((list-ref (list-ref env depth) index) #f #f)))
             (if (and (pair? value) (eq? value unassigned)) (used-before-definition name cell) value))))
        ((= depth 0)
         (case index
           ((0) (lambda (env) (car (car env))))
           ((1) (lambda (env) (cadr (car env))))
           ((2) (lambda (env) (caddr (car env))))
           (else (lambda (env) (list-ref (car env) index)))))
        ((= depth 1)
         (case index
           ((0) (lambda (env) (car (cadr env))))
           ((1) (lambda (env) (cadr (cadr env))))
           (else (lambda (env) (list-ref (cadr env) index)))))
        (else (lambda (env) (list-ref (list-ref env depth) index)))))

(define (used-before-definition name cell)
  (raise-error 'unbound
               (string-append "variable " (symbol->string name) " used before its definition")
               cell))

;; A global variable: one the program defines or assigns is read through its
;; global; a primitive the program leaves alone is a constant; any other name is
;; unbound, an error when (and only when) the reference is evaluated.
(define (global-reference name cell)
  (let ((global (assq name defined-globals)))
    (if global
        ((cdr global) 'ref cell #f)
        (let ((primitive (assq name primitive-globals)))
          (if primitive
              (let ((value (cdr primitive)))
                (lambda (env) value))
              (lambda (env) (unbound-variable name cell)))))))

;; §4.1.2 Literal expressions: (quote datum). The datum is the program's own data,
;; so a decimal literal in it is the parameter leaf the host put there.
(define (analyze-quote form cell)
  (check-operands form cell 1 1)
  (let ((datum (cadr form)))
    (lambda (env) datum)))

;; §4.1.3 Procedure calls. The operator is evaluated first, then the operands from
;; left to right. The call itself is made in tail position, so an interpreted tail
;; call is a tail call of this evaluator and runs in constant space.
(define (analyze-call form cell scope)
  (let ((operands (map (lambda (operand) (analyze-operand operand scope)) (cells-of (cdr form))))
        (primitive (fixed-primitive (car form) scope)))
    (if (and primitive (not (eq? primitive apply)))
        (primitive-call primitive operands cell)
        (procedure-call (analyze form scope) operands cell))))

;; The procedure named by `operator` when it is a primitive the program never
;; redefines, so that the call needs no look-up at all; else #f.
(define (fixed-primitive operator scope)
  (and (symbol? operator)
       (not (lookup operator scope))
       (not (assq operator defined-globals))
       (let ((entry (assq operator primitive-globals)))
         (and entry (cdr entry)))))

;; Operands. Most operands are constants or variables of the innermost frame; a
;; call fetches those itself instead of calling an execution procedure for each.
;; An operand is analysed into (how . what): (exec . procedure), (constant . value)
;; or (local . index in the innermost frame).
(define (analyze-operand cell scope)
  (let ((x (car cell)))
    (cond ((symbol? x)
           (let ((address (lookup x scope)))
             (if (and address (= (car address) 0) (eq? (caddr address) 'value))
                 (cons 'local (cadr address))
                 (let ((primitive (fixed-primitive x scope)))
                   (if primitive
                       (cons 'constant primitive)
                       (cons 'exec (analyze cell scope)))))))
          ((and (keyword? x 'quote) (list? x) (= (length x) 2)) (cons 'constant (cadr x)))
          ((or (pair? x) (null? x)) (cons 'exec (analyze cell scope)))
          (else (cons 'constant x)))))

;; The parts of an operand the execution procedures below use: whether it is an
;; execution procedure, whether it is a constant, and the procedure, constant or index.
(define (exec? operand) (eq? (car operand) 'exec))
(define (constant? operand) (eq? (car operand) 'constant))

;; An operand as an execution procedure.
(define (operand-exec operand)
  (let ((what (cdr operand)))
    (cond ((exec? operand) what)
          ((constant? operand) (lambda (env) what))
          (else (lambda (env) (list-ref (car env) what))))))

;; A call of a fixed primitive. Primitives return to their caller, so the call is an
;; ordinary one (cheaper than a tail call here). (`apply`, which tail-calls its
;; procedure, is called as any other procedure.)
(define (primitive-call f operands cell)
  (case (length operands)
    ((0) (lambda (env) (set! current cell) (let ((v (f))) v)))
    ((1) (let ((a? (exec? (car operands))) (ac? (constant? (car operands))) (a (cdar operands)))
           (lambda (env)
             (let ((x (if a? (a env) (if ac? a (list-ref (car env) a)))))
               (set! current cell)
               (let ((v (f x))) v)))))
    ((2) (let ((a? (exec? (car operands))) (ac? (constant? (car operands))) (a (cdar operands))
               (b? (exec? (cadr operands))) (bc? (constant? (cadr operands))) (b (cdadr operands)))
           (lambda (env)
             (let* ((x (if a? (a env) (if ac? a (list-ref (car env) a))))
                    (y (if b? (b env) (if bc? b (list-ref (car env) b)))))
               (set! current cell)
               (let ((v (f x y))) v)))))
    (else
     (let ((operands (map operand-exec operands)))
       (lambda (env)
         (let ((xs (execute-each operands env)))
           (set! current cell)
           (let ((v (apply f xs))) v)))))))

;; A call of any other procedure.
(define (procedure-call operator operands cell)
  (case (length operands)
    ((0) (lambda (env)
           (let ((f (operator env)))
             (set! current cell)
             (f))))
    ((1) (let ((a? (exec? (car operands))) (ac? (constant? (car operands))) (a (cdar operands)))
           (lambda (env)
             (let* ((f (operator env))
                    (x (if a? (a env) (if ac? a (list-ref (car env) a)))))
               (set! current cell)
               (f x)))))
    ((2) (let ((a? (exec? (car operands))) (ac? (constant? (car operands))) (a (cdar operands))
               (b? (exec? (cadr operands))) (bc? (constant? (cadr operands))) (b (cdadr operands)))
           (lambda (env)
             (let* ((f (operator env))
                    (x (if a? (a env) (if ac? a (list-ref (car env) a))))
                    (y (if b? (b env) (if bc? b (list-ref (car env) b)))))
               (set! current cell)
               (f x y)))))
    ((3) (let ((a (operand-exec (car operands)))
               (b (operand-exec (cadr operands)))
               (c (operand-exec (caddr operands))))
           (lambda (env)
             (let* ((f (operator env)) (x (a env)) (y (b env)) (z (c env)))
               (set! current cell)
               (f x y z)))))
    (else
     (let ((operands (map operand-exec operands)))
       (lambda (env)
         (let* ((f (operator env)) (xs (execute-each operands env)))
           (set! current cell)
           (apply f xs)))))))   ; in tail position, apply is a proper tail call

;; §4.1.4 Procedures: (lambda formals body …). See section 6 for what a procedure is.
(define (analyze-lambda form cell scope)
  (if (< (length form) 3) (syntax-error "lambda: expected formals and a body" cell))
  (lambda-expression 'lambda (cadr form) (cddr form) cell scope))

;; The execution procedure of a lambda expression: each evaluation makes a new
;; procedure, named `name` in messages, closed over the environment.
(define (lambda-expression name formals body cell scope)
  (let ((factory (procedure-factory name formals body cell scope)))
    (lambda (env) (make-procedure factory env))))

(define (lambda-form? x)
  (and (keyword? x 'lambda) (list? x) (>= (length x) 3)))

;; §4.1.5 Conditionals: (if test consequent [alternate]). Only #f is false.
(define (analyze-if form cell scope)
  (check-operands form cell 2 3)
  (let ((test (analyze (cdr form) scope))
        (consequent (analyze (cddr form) scope))
        (consequent-returns? (returns-directly? (caddr form) scope)))
    (if (null? (cdddr form))
        (lambda (env) (if (test env) (consequent env) unspecified))
        (let ((alternate (analyze (cdddr form) scope))
              (alternate-returns? (returns-directly? (cadddr form) scope)))
          (lambda (env)
            (if (test env)
                (if consequent-returns? (let ((v (consequent env))) v) (consequent env))
                (if alternate-returns? (let ((v (alternate env))) v) (alternate env))))))))

;; True when evaluating `x` makes no call of an interpreted procedure in tail
;; position: a literal, a variable, a quote or lambda expression, or a call of a
;; fixed primitive other than apply. Such an expression can be evaluated by an
;; ordinary call even in tail position, which is cheaper than a tail call.
(define (returns-directly? x scope)
  (or (not (pair? x))
      (keyword? x 'quote)
      (keyword? x 'lambda)
      (let ((primitive (fixed-primitive (car x) scope)))
        (and primitive (not (eq? primitive apply))))))

;; §4.1.6 Assignments: (set! variable expression). Assigned locals are in cells.
(define (analyze-assignment form cell scope)
  (check-operands form cell 2 2)
  (let ((name (cadr form))
        (value (analyze (cddr form) scope)))
    (if (not (symbol? name)) (syntax-error "set!: expected a variable name" (cdr form)))
    (let ((address (lookup name scope)))
      (if address
          (let ((depth (car address)) (index (cadr address)))
            (lambda (env)
              ((list-ref (list-ref env depth) index) #t (value env))
              unspecified))
          ((cdr (assq name defined-globals)) 'set! cell value)))))

;;; ==============================================================================
;;; 4. Derived expression types (R7RS §4.2)
;;; ==============================================================================
;;; Each derived form is analysed directly (not rewritten into core forms), so that
;;; every execution procedure still knows the cell of its own piece of source.

;; §4.2.1 (cond clause …): clauses (test expression …), (test), (test => receiver)
;; and a last (else expression …).
(define (analyze-cond form cell scope)
  (if (null? (cdr form)) (syntax-error "cond: expected at least one clause" cell))
  (cond-clauses (cells-of (cdr form)) scope))

(define (cond-clauses cells scope)
  (if (null? cells)
      (lambda (env) unspecified)
      (let* ((cell (car cells)) (clause (car cell)))
        (if (not (and (pair? clause) (list? clause)))
            (syntax-error "cond: expected a clause (test expression …)" cell))
        (if (and (eq? (car clause) 'else) (not (lookup 'else scope)))
            (cond ((not (null? (cdr cells))) (syntax-error "cond: else clause must be the last clause" cell))
                  ((null? (cdr clause)) (syntax-error "cond: else clause needs at least one expression" cell))
                  (else (analyze-sequence (cells-of (cdr clause)) scope)))
            (let ((test (analyze clause scope))
                  (rest (cond-clauses (cdr cells) scope)))
              (cond ((null? (cdr clause))
                     (lambda (env)
                       (let ((v (test env))) (if v v (rest env)))))
                    ((arrow? (cadr clause) scope)
                     (if (not (= (length clause) 3))
                         (syntax-error "cond: expected (test => receiver)" cell))
                     (let ((receiver (analyze (cddr clause) scope)))
                       (lambda (env)
                         (let ((v (test env)))
                           (if v
                               (let ((f (receiver env)))
                                 (set! current cell)
                                 (f v))
                               (rest env))))))
                    (else
                     (let ((body (analyze-sequence (cells-of (cdr clause)) scope)))
                       (lambda (env) (if (test env) (body env) (rest env)))))))))))

(define (arrow? x scope)
  (and (eq? x '=>) (not (lookup '=> scope))))

;; §4.2.1 (case key clause …): clauses ((datum …) expression …), ((datum …) =>
;; receiver) and a last else clause; the key is compared with eqv?.
(define (analyze-case form cell scope)
  (if (< (length form) 3) (syntax-error "case: expected a key and at least one clause" cell))
  (let ((key (analyze (cdr form) scope))
        (dispatch (case-clauses (cells-of (cddr form)) scope)))
    (lambda (env) (dispatch (key env) env))))

;; The clauses as a procedure of the key and the environment.
(define (case-clauses cells scope)
  (if (null? cells)
      (lambda (key env) unspecified)
      (let* ((cell (car cells)) (clause (car cell)))
        (if (not (and (pair? clause) (list? clause) (pair? (cdr clause))))
            (syntax-error "case: expected a clause ((datum …) expression …)" cell))
        (let ((else? (and (eq? (car clause) 'else) (not (lookup 'else scope))))
              (body (if (arrow? (cadr clause) scope)
                        (begin
                          (if (not (= (length clause) 3))
                              (syntax-error "case: expected (datums => receiver)" cell))
                          (let ((receiver (analyze (cddr clause) scope)))
                            (lambda (key env)
                              (let ((f (receiver env)))
                                (set! current cell)
                                (f key)))))
                        (let ((sequence (analyze-sequence (cells-of (cdr clause)) scope)))
                          (lambda (key env) (sequence env))))))
          (cond (else?
                 (if (not (null? (cdr cells))) (syntax-error "case: else clause must be the last clause" cell))
                 body)
                ((not (list? (car clause)))
                 (syntax-error "case: expected a list of datums" clause))
                (else
                 (let ((data (car clause))
                       (rest (case-clauses (cdr cells) scope)))
                   (lambda (key env)
                     (if (memv-datum key data) (body key env) (rest key env))))))))))

(define (memv-datum key data)
  (cond ((null? data) #f)
        ((eqv? key (car data)) #t)
        (else (memv-datum key (cdr data)))))

;; §4.2.1 (and test …) and (or test …): the last test is in tail position.
(define (analyze-and cells scope)
  (cond ((null? cells) (lambda (env) #t))
        ((null? (cdr cells)) (analyze (car cells) scope))
        (else
         (let ((first (analyze (car cells) scope))
               (rest (analyze-and (cdr cells) scope)))
           (lambda (env) (if (first env) (rest env) #f))))))

(define (analyze-or cells scope)
  (cond ((null? cells) (lambda (env) #f))
        ((null? (cdr cells)) (analyze (car cells) scope))
        (else
         (let ((first (analyze (car cells) scope))
               (rest (analyze-or (cdr cells) scope)))
           (lambda (env)
             (let ((v (first env))) (if v v (rest env))))))))

;; §4.2.1 (when test expression …) and (unless test expression …).
(define (analyze-when form cell scope)
  (if (< (length form) 3)
      (syntax-error (string-append (symbol->string (car form)) ": expected a test and at least one expression")
                    cell))
  (let ((test (analyze (cdr form) scope))
        (body (analyze-sequence (cells-of (cddr form)) scope)))
    (if (eq? (car form) 'when)
        (lambda (env) (if (test env) (body env) unspecified))
        (lambda (env) (if (test env) unspecified (body env))))))

;; Bindings ((name init) …) as a list of (name . init-cell), checked. A cell of
;; the name is the binding itself (the pair whose car is the name).
(define (parse-bindings bindings cell keyword)
  (if (not (list? bindings))
      (syntax-error (string-append keyword ": expected a list of bindings") cell))
  (let loop ((cells (cells-of bindings)) (names '()) (out '()))
    (if (null? cells)
        (reverse out)
        (let ((binding (parse-binding (car cells) keyword)))
          (if (memq (car binding) names)
              (syntax-error (string-append keyword ": duplicate binding of '"
                                           (symbol->string (car binding)) "'")
                            (car (car cells))))
          (loop (cdr cells) (cons (car binding) names) (cons binding out))))))

;; The binding (name init) in the car of `cell`, as (name . init-cell).
(define (parse-binding cell keyword)
  (let ((binding (car cell)))
    (if (not (and (list? binding) (= (length binding) 2) (symbol? (car binding))))
        (syntax-error (string-append keyword ": expected a binding (name expression)") cell))
    (check-bindable (car binding) binding)
    (cons (car binding) (cdr binding))))

(define (check-bindable name cell)
  (if (memq name special-forms)
      (syntax-error (string-append "cannot bind the special form name '" (symbol->string name) "'") cell)))

;; The execution procedure of the initialiser in the car of `cell` for variable
;; `name`: a lambda expression bound to a name makes procedures of that name (for
;; messages), as compiled code does.
(define (analyze-init name cell scope)
  (definition-value (binding-definition name cell) scope))

;; §4.2.2 (let ((name init) …) body) and the named let (let name bindings body).
(define (analyze-let form cell scope)
  (if (< (length form) 3) (syntax-error "let: expected bindings and a body" cell))
  (if (symbol? (cadr form))
      (analyze-named-let form cell scope)
      (let* ((bindings (parse-bindings (cadr form) (cdr form) "let"))
             (inits (map (lambda (b) (analyze-init (car b) (cdr b) scope)) bindings))
             (frame (frame-for (map car bindings)))
             (boxed (cell-slots frame))
             (body (analyze-body (cells-of (cddr form)) cell (cons frame scope))))
        (cond (boxed
               (lambda (env) (body (cons (fill-frame (execute-each inits env) boxed) env))))
              ((null? inits) (lambda (env) (body (cons '() env))))
              ((null? (cdr inits))
               (let ((a (car inits)))
                 (lambda (env) (body (cons (list (a env)) env)))))
              ((null? (cddr inits))
               (let ((a (car inits)) (b (cadr inits)))
                 (lambda (env)
                   (let* ((x (a env)) (y (b env)))
                     (body (cons (list x y) env))))))
              (else
               (lambda (env) (body (cons (execute-each inits env) env))))))))

;; (let name ((var init) …) body) is ((letrec ((name (lambda (var …) body))) name) init …).
(define (analyze-named-let form cell scope)
  (if (< (length form) 4) (syntax-error "let: named let needs bindings and a body" cell))
  (let* ((name (cadr form))
         (bindings (begin (check-bindable name (cdr form))
                          (parse-bindings (caddr form) (cddr form) "let")))
         (inits (map (lambda (b) (analyze-init (car b) (cdr b) scope)) bindings))
         (frame (frame-for (list name)))
         (factory (procedure-factory name (map car bindings) (cdddr form) cell (cons frame scope)))
         (operator (if (cell-slots frame)
                       (lambda (env)
                         (let* ((loop (make-cell unassigned))
                                (procedure (make-procedure factory (cons (list loop) env))))
                           (loop #t procedure)
                           procedure))
                       (lambda (env)
                         (let ((made (factory)))
                           ((cdr made) (cons (list (car made)) env))
                           (car made))))))
    (procedure-call operator (map (lambda (init) (cons 'exec init)) inits) cell)))

;; §4.2.2 (let* ((name init) …) body): one frame per binding, each in the scope of
;; the ones before it.
(define (analyze-let* form cell scope)
  (if (< (length form) 3) (syntax-error "let*: expected bindings and a body" cell))
  (let ((bindings (parse-let*-bindings (cadr form) (cdr form))))
    (let nest ((bindings bindings) (scope scope))
      (if (null? bindings)
          (analyze-body (cells-of (cddr form)) cell scope)
          (let* ((name (car (car bindings)))
                 (init (analyze-init name (cdr (car bindings)) scope))
                 (frame (frame-for (list name)))
                 (body (nest (cdr bindings) (cons frame scope))))
            (if (cell-slots frame)
                (lambda (env) (body (cons (list (make-cell (init env))) env)))
                (lambda (env) (body (cons (list (init env)) env)))))))))

;; let* may bind a name twice, so its bindings are checked one by one.
(define (parse-let*-bindings bindings cell)
  (if (not (list? bindings)) (syntax-error "let*: expected a list of bindings" cell))
  (map (lambda (binding-cell) (parse-binding binding-cell "let*")) (cells-of bindings)))

;; §4.2.2 (letrec ((name init) …) body) and letrec*: both with letrec* meaning, the
;; initialisers evaluated left to right in the scope of all the names.
(define (analyze-letrec form cell scope)
  (let ((keyword (symbol->string (car form))))
    (if (< (length form) 3) (syntax-error (string-append keyword ": expected bindings and a body") cell))
    (letrec-expression
     (map (lambda (b) (binding-definition (car b) (cdr b))) (parse-bindings (cadr form) (cdr form) keyword))
     (lambda (scope) (analyze-body (cells-of (cddr form)) cell scope))
     scope)))

;; §4.2.4 (do ((var init step) …) (test result …) command …): a loop of this
;; evaluator, each iteration with a fresh frame for the variables.
(define (analyze-do form cell scope)
  (if (< (length form) 3) (syntax-error "do: expected bindings and (test result …)" cell))
  (let ((specs (cadr form)) (exit (caddr form)))
    (if (not (list? specs)) (syntax-error "do: expected a list of bindings" (cdr form)))
    (if (not (and (pair? exit) (list? exit)))
        (syntax-error "do: expected (test result …)" (cddr form)))
    (for-each (lambda (spec-cell)
                (let ((spec (car spec-cell)))
                  (if (not (and (list? spec) (<= 2 (length spec) 3) (symbol? (car spec))))
                      (syntax-error "do: expected (variable init [step])" spec-cell))
                  (check-bindable (car spec) spec)))
              (cells-of specs))
    (let* ((names (map car specs))
           (frame (frame-for names))
           (boxed (cell-slots frame))
           (inner (cons frame scope))
           (inits (map (lambda (spec-cell) (analyze (cdr (car spec-cell)) scope)) (cells-of specs)))
           (steps (map (lambda (spec-cell)
                         (let ((spec (car spec-cell)))
                           (if (null? (cddr spec))
                               (analyze spec inner)            ; no step: the variable itself
                               (analyze (cddr spec) inner))))
                       (cells-of specs)))
           (test (analyze exit inner))
           (result (if (null? (cdr exit))
                       (lambda (env) unspecified)
                       (analyze-sequence (cells-of (cdr exit)) inner)))
           (commands (map (lambda (c) (analyze c inner)) (cells-of (cdddr form)))))
      (lambda (env)
        (let loop ((values (execute-each inits env)))
          (let ((env (cons (fill-frame values boxed) env)))
            (if (test env)
                (result env)
                (begin
                  (execute-each commands env)
                  (loop (execute-each steps env))))))))))

;;; ==============================================================================
;;; 5. Program structure (R7RS §5)
;;; ==============================================================================

;; §4.2.3 (begin expression …) outside a body: a sequence.
(define (analyze-begin form cell scope)
  (if (null? (cdr form)) (syntax-error "begin: expected at least one expression" cell))
  (analyze-sequence (cells-of (cdr form)) scope))

;; A sequence of expressions (cells): the last is in tail position.
(define (analyze-sequence cells scope)
  (let ((procs (map (lambda (c) (analyze c scope)) cells)))
    (cond ((null? (cdr procs)) (car procs))
          ((null? (cddr procs))
           (let ((first (car procs)) (second (cadr procs)))
             (lambda (env) (first env) (second env))))
          (else
           (lambda (env)
             (let loop ((procs procs))
               (if (null? (cdr procs))
                   ((car procs) env)
                   (begin ((car procs) env) (loop (cdr procs))))))))))

;; The cells of a body with the forms of `begin`s at its head spliced in (R7RS
;; §5.3.2: such a begin may hold definitions).
(define (splice-begins cells)
  (if (null? cells)
      '()
      (let ((form (car (car cells))))
        (if (and (keyword? form 'begin) (list? form))
            (append (splice-begins (cells-of (cdr form))) (splice-begins (cdr cells)))
            (cons (car cells) (splice-begins (cdr cells)))))))

;; Definitions, from internal or top-level `define`s and from letrec bindings, are
;; lists of one of two shapes:
;;   (name init-cell)              name bound to the expression in the car of init-cell;
;;   (name formals body cell)      name bound to a procedure (body: a list of forms);
;;                                 `cell` holds the source it came from.
(define (binding-definition name init-cell)
  (let ((x (car init-cell)))
    (if (lambda-form? x)
        (list name (cadr x) (cddr x) init-cell)
        (list name init-cell))))

(define (procedure-definition? definition)
  (pair? (cddr definition)))

;; The definition made by (define name expression) or (define (name . formals) body …).
(define (parse-definition cell)
  (let ((form (car cell)))
    (if (not (and (list? form) (>= (length form) 2)))
        (syntax-error "define: malformed definition" cell))
    (let ((target (cadr form)))
      (cond ((symbol? target)
             (if (not (= (length form) 3))
                 (syntax-error "define: expected a name and one expression" cell))
             (check-bindable target (cdr form))
             (binding-definition target (cddr form)))
            ((and (pair? target) (symbol? (car target)))
             (if (null? (cddr form))
                 (syntax-error (string-append "define: procedure " (symbol->string (car target)) " has no body")
                               cell))
             (check-bindable (car target) target)
             (list (car target) (cdr target) (cddr form) cell))
            (else (syntax-error "define: expected a name or (name formals …)" (cdr form)))))))

;; The execution procedure of a definition's value, in `scope`.
(define (definition-value definition scope)
  (if (procedure-definition? definition)
      (lambda-expression (car definition) (cadr definition) (caddr definition) (cadddr definition) scope)
      (analyze (cadr definition) scope)))

;; §5.3.2 A body: internal definitions (with letrec* meaning) then expressions.
(define (analyze-body cells cell scope)
  (let split ((cells (splice-begins cells)) (definitions '()))
    (cond ((null? cells) (syntax-error "body has no expression after its definitions" cell))
          ((keyword? (car (car cells)) 'define)
           (split (cdr cells) (cons (parse-definition (car cells)) definitions)))
          (else
           (for-each (lambda (c)
                       (if (keyword? (car c) 'define)
                           (syntax-error "define: definitions must come before the expressions of a body" c)))
                     cells)
           (if (null? definitions)
               (analyze-sequence cells scope)
               (letrec-expression (reverse definitions)
                                  (lambda (scope) (analyze-sequence cells scope))
                                  scope))))))

;; letrec* of `definitions` (each as parse-definition gives) around the body that
;; `analyze-inner` analyses in the new scope.
;;
;; A procedure bound by letrec must see the frame it is in, and the frame holds it:
;; a cycle, made without mutable pairs by creating the procedure first and giving
;; it its environment just after (see make-procedure). Such a procedure sits in its
;; slot directly, when its name is never assigned and no initialiser before it is
;; an expression (which could otherwise see it before its turn); every other slot
;; is a cell, filled in order.
(define (letrec-expression definitions analyze-inner scope)
  (let* ((names (map car definitions))
         (direct (let mark ((definitions definitions) (early #t))
                   (if (null? definitions)
                       '()
                       (let ((procedure? (and early
                                              (procedure-definition? (car definitions))
                                              (not (memq (car (car definitions)) assigned-names)))))
                         (cons procedure? (mark (cdr definitions) procedure?))))))
         (frame (map (lambda (name direct?) (cons name (if direct? 'value 'cell))) names direct))
         (inner (cons frame scope))
         (slots (map (lambda (definition direct?)
                       (if direct?
                           (procedure-factory (car definition) (cadr definition) (caddr definition)
                                              (cadddr definition) inner)
                           (definition-value definition inner)))
                     definitions direct))
         (body (analyze-inner inner)))
    (if (memq #f direct)
        (lambda (env)
          (let* ((made (map (lambda (slot direct?) (if direct? (slot) (make-cell unassigned))) slots direct))
                 (env (cons (map (lambda (m direct?) (if direct? (car m) m)) made direct) env)))
            (for-each (lambda (m slot direct?)
                        (if direct? ((cdr m) env) (m #t (slot env))))
                      made slots direct)
            (body env)))
        (if (null? (cdr slots))
            (let ((factory (car slots)))
              (lambda (env)
                (let* ((made (factory)) (env (cons (list (car made)) env)))
                  ((cdr made) env)
                  (body env))))
            (lambda (env)
              (let* ((made (map (lambda (factory) (factory)) slots))
                     (env (cons (map car made) env)))
                (for-each (lambda (m) ((cdr m) env)) made)
                (body env)))))))

;; §5.2, §5.3 A program: definitions and expressions in order, `begin`s spliced.
;; A top-level definition assigns the global of its name.
(define (analyze-top-level cells)
  (map (lambda (cell)
         (if (keyword? (car cell) 'define)
             (let ((definition (parse-definition cell)))
               ((cdr (assq (car definition) defined-globals))
                'define cell (definition-value definition '())))
             (analyze cell '())))
       (splice-top-level cells)))

(define (splice-top-level cells)
  (if (null? cells)
      '()
      (let ((form (car (car cells))))
        (if (and (keyword? form 'begin) (list? form))
            (append (splice-top-level (cells-of (cdr form))) (splice-top-level (cdr cells)))
            (cons (car cells) (splice-top-level (cdr cells)))))))

;; Runs the top-level forms; the value of the program is that of its last form.
(define (execute-top-level procs)
  (cond ((null? procs) unspecified)
        ((null? (cdr procs)) ((car procs) '()))
        (else ((car procs) '()) (execute-top-level (cdr procs)))))

;;; ==============================================================================
;;; 6. Procedures
;;; ==============================================================================
;;; An interpreted procedure *is* a procedure of this evaluator (a closure of the
;;; host language once this file is compiled), so primitives such as map, apply or
;;; fold-left call it like any other procedure. It takes its arguments as a list,
;;; checks their number, and runs its body -- in tail position -- in its
;;; environment extended by the frame of the arguments.

;; The execution procedure of lambda expression `(lambda formals . body)`, already
;; analysed, is a *factory*: a procedure of no arguments that makes a new procedure
;; and returns it paired with the procedure that gives it its environment. A
;; procedure made by letrec gets its environment only after the frame that holds
;; it exists; any other gets it at once (make-procedure).
(define (make-procedure factory env)
  (let ((made (factory)))
    ((cdr made) env)
    (car made)))

;; Analyses a procedure named `name` (a symbol, for messages) with `formals` and
;; `body` (a list of cells) in `scope`, into a factory.
(define (procedure-factory name formals body cell scope)
  (if (null? body) (syntax-error "lambda: expected formals and a body" cell))
  (let* ((parsed (parse-formals formals cell))
         (required (car parsed))
         (rest (cdr parsed))
         (count (length required))
         (names (if rest (append required (list rest)) required))
         (boxed (cell-slots (frame-for names)))
         ;; Unless some parameter is a cell, the frame is the argument list itself,
         ;; and a rest parameter is the tail of it.
         (frame (if boxed
                    (frame-for names)
                    (append (map (lambda (n) (cons n 'value)) required)
                            (if rest (list (cons rest 'tail)) '()))))
         (run (analyze-body (cells-of body) cell (cons frame scope)))
         (label (symbol->string name)))
    (lambda ()
      (let ((env '()))
        (cons (cond ((or boxed rest (> count 2))
                     (let ((arity-ok? (arity-test count rest)))
                       (lambda arguments
                         (if (arity-ok? arguments)
                             (run (cons (if boxed (box-arguments arguments boxed count) arguments) env))
                             (arity-error label count rest arguments)))))
                    ;; The usual cases, with the argument count tested in line:
                    ((= count 0)
                     (lambda arguments
                       (if (null? arguments)
                           (run (cons arguments env))
                           (arity-error label count rest arguments))))
                    ((= count 1)
                     (lambda arguments
                       (if (and (pair? arguments) (null? (cdr arguments)))
                           (run (cons arguments env))
                           (arity-error label count rest arguments))))
                    (else
                     (lambda arguments
                       (if (and (pair? arguments) (pair? (cdr arguments)) (null? (cddr arguments)))
                           (run (cons arguments env))
                           (arity-error label count rest arguments)))))
              (lambda (e) (set! env e)))))))

;; Formals: (name …), name, or (name … . name), as (required-names . rest-name-or-#f).
(define (parse-formals formals cell)
  (let loop ((x formals) (required '()))
    (cond ((null? x) (cons (reverse required) #f))
          ((symbol? x)
           (check-bindable x cell)
           (if (memq x required) (syntax-error (string-append "lambda: duplicate parameter '" (symbol->string x) "'") cell))
           (cons (reverse required) x))
          ((pair? x)
           (let ((name (car x)))
             (if (not (symbol? name)) (syntax-error "lambda: formal parameter must be a symbol" x))
             (check-bindable name x)
             (if (memq name required)
                 (syntax-error (string-append "lambda: duplicate parameter '" (symbol->string name) "'") x))
             (loop (cdr x) (cons name required))))
          (else (syntax-error "lambda: expected a list of formals or a symbol" cell)))))

;; A test of an argument list's length that allocates nothing.
(define (arity-test count rest)
  (cond ((not rest) (lambda (arguments) (exactly? arguments count)))
        ((= count 0) (lambda (arguments) #t))
        (else (lambda (arguments) (at-least? arguments count)))))

(define (at-least? l n)
  (cond ((= n 0) #t)
        ((pair? l) (at-least? (cdr l) (- n 1)))
        (else #f)))

(define (exactly? l n)
  (if (= n 0) (null? l) (and (pair? l) (exactly? (cdr l) (- n 1)))))

;; The frame of a call whose parameters include cells: `boxed` says which slot is
;; a cell; the last slot of a variadic procedure holds the rest list.
(define (box-arguments arguments boxed count)
  (cond ((null? boxed) '())
        ((= count 0) (list (if (car boxed) (make-cell arguments) arguments)))
        (else (cons (if (car boxed) (make-cell (car arguments)) (car arguments))
                    (box-arguments (cdr arguments) (cdr boxed) (- count 1))))))

;; The error of a call with the wrong number of arguments, at the call being made,
;; with the message compiled code gives.
(define (arity-error label count rest arguments)
  (raise-error 'arity
               (string-append label ": expected "
                              (if rest (string-append "at least " (number->string count)) (number->string count))
                              " argument(s), got " (number->string (length arguments)))
               current))

;; The value of this file: the entry point the host calls.
run-program
