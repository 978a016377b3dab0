;;;; lib/evaluator.scm -- the meta-circular evaluator of dmci.
;;;;
;;;; An evaluator for the language of DESIGN §2, written in that language. The host
;;;; compiles this file once; the value of the file is the procedure `analyze-program`,
;;;; which takes a program as data and returns a procedure that runs it. Decimal
;;;; literals of that data are the program's parameters, so gradients reach them
;;;; through this evaluator exactly as through compiled code. This file must use only
;;;; the language it implements (no vectors, no mutable pairs, no call/cc), so that it
;;;; can also evaluate itself.
;;;;
;;;; The plan is SICP §4.1.7: `analyze` walks each expression once and returns an
;;;; *execution procedure*, a procedure of the run-time environment; running the
;;;; program only calls execution procedures. Variables are resolved during analysis
;;;; to lexical addresses, so no name is looked up while the program runs. Every
;;;; call in tail position of the program is a call in tail position here, so
;;;; interpreted loops run in constant space.
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
;; a program can make. (Tests for it ask pair? first: eq? on numbers compares
;; values, which for a parameter-dependent number costs a look at the tensor.)
(define unassigned (list 'unassigned))

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
;; its arguments. At analysis time a *scope* mirrors it: a list of frames, each an
;; association list of (name index . kind), where kind says how the slot at index
;; holds the variable:
;;   value  the slot is the value;
;;   cell   the slot is a cell holding the value;
;;   tail   (a rest parameter) the variable is the list of the frame's slots from
;;          this position on, so a variadic call needs no new list.

;; The lexical address of a local variable: (depth index . kind), or #f for a global.
(define (lookup name scope)
  (let ((found (lookup-slot name scope)))
    (and found (cons (car found) (cdr (cdr found))))))

;; The frame depth of a local variable and its scope entry (name index . kind), as a
;; pair, or #f for a global. An entry stands for one binding: eq? tells bindings apart.
(define (lookup-slot name scope)
  (let next-frame ((scope scope) (depth 0))
    (if (null? scope)
        #f
        (let ((slot (assq name (car scope))))
          (if slot
              (cons depth slot)
              (next-frame (cdr scope) (+ depth 1)))))))

;; A scope frame for `names`, whose kinds are `kinds`.
(define (scope-frame names kinds)
  (let number ((names names) (kinds kinds) (index 0))
    (if (null? names)
        '()
        (cons (cons (car names) (cons index (car kinds)))
              (number (cdr names) (cdr kinds) (+ index 1))))))

;; The kind of a variable named `name` that is bound in a new frame: a cell if the
;; program assigns it anywhere (by name: conservative but simple), else a value.
(define (kind-of name)
  (if (memq name assigned-names) 'cell 'value))

(define (frame-for names)
  (scope-frame names (map kind-of names)))

;; The kinds of a scope frame as booleans (#t: the slot is a cell), or #f when no
;; slot is a cell, so the run-time frame is just the list of values.
(define (cell-slots frame)
  (let ((cells (map (lambda (slot) (eq? (cddr slot) 'cell)) frame)))
    (if (memq #t cells) cells #f)))

;; The run-time frame for `values`, putting in a cell each value whose slot says so.
(define (fill-frame values boxed)
  (if boxed
      (map (lambda (value cell?) (if cell? (make-cell value) value)) values boxed)
      values))

;; The values of execution procedures `procs` in `env`, left to right, as a list.
;; A loop (then a reverse), not a recursion: a call of 50,000 arguments must not
;; take 50,000 host frames.
(define (execute-each procs env)
  (let loop ((procs procs) (values '()))
    (if (null? procs)
        (reverse values)
        (loop (cdr procs) (cons ((car procs) env) values)))))

;;; ==============================================================================
;;; 2. Running a program
;;; ==============================================================================

;; The host's error procedure: (raise-error kind message cell) raises an error of
;; `kind` (a symbol: syntax, unbound, arity …) with `message`, at the source
;; position of the expression in the car of `cell`. It does not return. The
;; evaluator passes *cells* -- the pairs of the program whose car is the expression
;; at fault -- because a pair remembers where it was read, and the pair holding a
;; variable remembers where the variable was written.
(define raise-error #f)

;; The cell of the procedure call being made, set before every call. When a
;; primitive fails (car of a number, a wrong argument count, a user `error`) the
;; error is raised inside the host; the host then reads this variable, through the
;; procedure it is given when the program is analysed, to report the program's call.
(define current #f)

;; The global environment of the program being analysed. Primitives the program
;; never defines nor assigns are constants, found in `primitive-globals`, given by
;; the host: a list of entries (name procedure implementation fewest most), where
;; `procedure` is the primitive as a value, and `implementation` the same code taking
;; a first argument in place of its call site, with no check of the argument count
;; (calls pass #f: the host finds the call through `current`); `fewest` and `most`
;; bound the argument count. Every name the program defines at top level or assigns
;; is a *global*, found in `defined-globals` (below).
(define primitive-globals '())
(define defined-globals '())

;; Names assigned by set! anywhere in the program: variables of these names live in
;; cells.
(define assigned-names '())

;; Known procedures: bindings that are sure to hold one procedure whenever a call
;; through them is made, so that such a call can skip the procedure and run its body
;; directly (see known-call). An association list from the binding -- a scope entry
;; of letrec, or the global of a procedure while its own body is analysed -- to
;; (body-cell . count): a cell that will hold the execution procedure of the body, and
;; the number of parameters. Globals defined once at top level and never assigned are
;; the `stable-globals`.
(define known-procedures '())
(define stable-globals '())

;; The host's test of the numbers of the program: (parameter? cell) is true when the
;; number in the car of `cell` is a parameter, which the host replaces before each
;; run (see analyze-program). Any other number is a constant.
(define parameter? #f)

;; Analyses `program`, a list of top-level forms, and returns a procedure that runs
;; it, each time afresh, and returns the value of its last form. `parameters` is the
;; test of its numbers (see parameter?). `primitives` is the initial global
;; environment (see primitive-globals); `inputs` names globals that each run gives
;; values: the procedure takes the list of their values. `raise` is the host's error
;; procedure (see raise-error), and `watch` is called once with a procedure that
;; returns the current call's cell.
;;
;; A run reads the program's parameters from the program itself, so a host may run
;; the analysed program again after putting other numbers (parameter values) in their
;; places; nothing else of the program may change between runs.
(define (analyze-program program parameters primitives inputs raise watch)
  (set! raise-error raise)
  (set! parameter? parameters)
  ;; No call of this program has been made yet: an error of the analysis must not be
  ;; placed at a call of a program analysed earlier.
  (set! current #f)
  (watch (lambda () current))
  (set! primitive-globals primitives)
  (set! assigned-names (assigned-in program '()))
  (set! known-procedures '())
  (let ((defined (defined-at-top-level (cells-of program))))
    (set! stable-globals
          (filter (lambda (name)
                    (and (not (memq name assigned-names)) (not (memq name (cdr (memq name defined))))))
                  defined))
    (set! defined-globals
          (map (lambda (name) (cons name (make-global name (primitive-value name))))
               (append inputs defined assigned-names))))
  (let ((procs (analyze-top-level (cells-of program)))
        (globals (map cdr defined-globals))
        (input-globals (map (lambda (name) (cdr (assq name defined-globals))) inputs)))
    (lambda (values)
      (set! raise-error raise)
      (set! current #f)
      (for-each (lambda (global) (global 'reset #f #f)) globals)
      (for-each (lambda (global value) (global 'assign value #f)) input-globals values)
      (execute-top-level procs))))

;; Evaluates `program` once, its inputs named `inputs` having `values`: see
;; analyze-program.
(define (run-program program parameters primitives inputs values raise watch)
  ((analyze-program program parameters primitives inputs raise watch) values))

(define (primitive-value name)
  (let ((entry (assq name primitive-globals)))
    (if entry (cadr entry) unassigned)))

;; A global variable: a procedure closed over the variable's value that answers
;; messages (message cell exec). Three return an execution procedure for the
;; expression in the car of `cell`: `ref` reads the variable, `set!` assigns it the
;; value of `exec`, `define` defines it as the value of `exec`. Between runs, `reset`
;; gives it back its value before any run, and `assign` (with the value in place of
;; the cell) sets it. Reading a global is thus one call of a procedure that returns
;; a variable of this closure.
(define (make-global name initial)
  (let ((value initial))
    (lambda (message cell exec)
      (case message
        ((reset) (set! value initial))             ; (the messages of every run first)
        ((assign) (set! value cell))
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
           unspecified))))))

;; Errors the evaluator finds itself, with the messages compiled code gives.
(define (syntax-error message cell)
  (raise-error 'syntax message cell))

(define (unbound-variable name cell)
  (raise-error 'unbound
               (string-append "unbound variable: " (symbol->string name)
                              (if (memq name '(quasiquote unquote unquote-splicing))
                                  " (quasiquote is not in the language: build lists with list and cons)"
                                  ""))
               cell))

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
;; the operands of a call are analysed as the list of their cells. (A loop: the
;; list may be as long as a call's 50,000 operands.)
(define (cells-of l)
  (let loop ((l l) (cells '()))
    (if (pair? l) (loop (cdr l) (cons l cells)) (reverse cells))))

;;; ==============================================================================
;;; 3. Primitive expression types (R7RS §4.1)
;;; ==============================================================================

;; The special forms (DESIGN §2). As in R7RS, a local variable of the same name
;; shadows one within its scope; a global may not take such a name.
(define special-forms
  '(quote if define set! lambda begin let let* letrec letrec* cond case and or when unless do))

;; True when `form` is a list headed by the symbol `name`.
(define (keyword? form name)
  (and (pair? form) (eq? (car form) name)))

;; True when `form` is the special form `name` in `scope` (not shadowed).
(define (special? form name scope)
  (and (keyword? form name) (not (lookup name scope))))

;; The execution procedure of the expression in the car of `cell`, in `scope`.
(define (analyze cell scope)
  (let ((x (car cell)))
    (cond ((symbol? x) (analyze-variable x cell scope))
          ((pair? x) (analyze-form x cell scope))
          ((null? x) (syntax-error "empty combination (); to write the empty list use '()" cell))
          ;; §4.1.2 Literals evaluate to themselves. A parameter is read from its
          ;; cell at each evaluation: the host puts its value there before each run.
          ;; Asked first: during analysis the cell may hold a tensor (batched runs),
          ;; which is no number, yet must not be taken for a constant.
          ((parameter? cell) (lambda (env) (car cell)))
          (else (lambda (env) x)))))

(define (analyze-form form cell scope)
  (cond ((not (list? form))
         (syntax-error "a call or form must be a proper list" cell))
        ((and (memq (car form) special-forms) (not (lookup (car form) scope)))
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
    (if address
        (local-reference name (car address) (cadr address) (cddr address) cell)
        (global-reference name cell))))

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
    (cond (global ((cdr global) 'ref cell #f))
          ((memq name special-forms)
           (syntax-error (string-append "'" (symbol->string name) "' is a special form, not a variable")
                         cell))
          (else
           (let ((primitive (assq name primitive-globals)))
             (if primitive
                 (let ((value (cadr primitive)))
                   (lambda (env) value))
                 (lambda (env) (unbound-variable name cell))))))))

;; §4.1.2 Literal expressions: (quote datum). The datum is the program's own data,
;; so a decimal literal in it is the parameter leaf the host put there (read at
;; each evaluation, like a number literal).
(define (analyze-quote form cell)
  (check-operands form cell 1 1)
  (let ((datum-cell (cdr form)))
    (lambda (env) (car datum-cell))))

;; §4.1.3 Procedure calls. The operator is evaluated first, then the operands from
;; left to right. The call itself is made in tail position, so an interpreted tail
;; call is a tail call of this evaluator and runs in constant space.
(define (analyze-call form cell scope)
  (let* ((operands (analyze-operands (cdr form) scope))
         (count (length operands))
         (operator (car form))
         (found (and (symbol? operator) (lookup-slot operator scope)))
         (known (and (symbol? operator)
                     (assq (if found (cdr found) (assq operator defined-globals)) known-procedures)))
         (entry (and (symbol? operator) (not found) (primitive-entry operator))))
    (cond ((and known (= count (cddr known)))
           (known-call (cadr known) (and found (car found)) operands cell))
          ((and entry
                (not (eq? (cadr entry) apply))
                (<= (list-ref entry 3) count (list-ref entry 4)))
           (primitive-call operator (caddr entry) operands cell))
          (else (procedure-call (analyze-operand form scope) operands cell)))))

;; The entry of primitive-globals for a global name, if the program never defines
;; nor assigns that name; else #f.
(define (primitive-entry name)
  (and (not (assq name defined-globals))
       (assq name primitive-globals)))

;; The primitive a global name stands for, if the program never defines nor
;; assigns that name; else #f.
(define (global-primitive name)
  (let ((entry (primitive-entry name)))
    (and entry (cadr entry))))


;; Operands. Most operands are constants or variables of the innermost frame; a call
;; fetches those itself instead of calling an execution procedure for each. An
;; operand is analysed into (how . what):
;;   (exec . procedure)    call the execution procedure;
;;   (constant . value)    the value (a string, a boolean, a number that is not a
;;                         parameter, quoted data, a primitive);
;;   (number . cell)       the car of the cell: a parameter, whose value the host
;;                         puts there before each run;
;;   (local . index)       the variable at index in the innermost frame.
(define (analyze-operand cell scope)
  (let ((x (car cell)))
    (cond ((symbol? x)
           (let ((address (lookup x scope)))
             (cond ((not address)
                    (let ((primitive (global-primitive x)))
                      (if primitive
                          (cons 'constant primitive)
                          (cons 'exec (global-reference x cell)))))
                   ((and (= (car address) 0) (eq? (cddr address) 'value))
                    (cons 'local (cadr address)))
                   (else (cons 'exec (local-reference x (car address) (cadr address) (cddr address) cell))))))
          ((parameter? cell) (cons 'number cell))
          ((number? x) (cons 'constant x))
          ((and (special? x 'quote scope) (list? x) (= (length x) 2))
           (if (parameter? (cdr x))
               (cons 'number (cdr x))
               (cons 'constant (cadr x))))
          ((or (pair? x) (null? x)) (cons 'exec (analyze cell scope)))
          (else (cons 'constant x)))))

;; The operands of a call, the list `operands`, analysed. A loop rather than map: a
;; nested call's analysis then holds 3 host frames per level instead of map's 7.
(define (analyze-operands operands scope)
  (let loop ((l operands) (out '()))
    (if (pair? l)
        (loop (cdr l) (cons (analyze-operand l scope) out))
        (reverse out))))

;; How an operand o is fetched, as the booleans the execution procedures below test:
;; with a its `what`, each fetches it by
;;   (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a)) (else (list-ref (car env) a)))
;; where a0? is (local-at? o 0) -- the first variable of the innermost frame, the
;; most frequent operand --, a? is (exec? o), ak? (constant? o), an? (number-operand? o).
;; (A procedure for this would cost a call per operand: the code is written out.)
(define (exec? operand) (eq? (car operand) 'exec))
(define (constant? operand) (eq? (car operand) 'constant))
(define (number-operand? operand) (eq? (car operand) 'number))
(define (local-at? operand index) (and (eq? (car operand) 'local) (eqv? (cdr operand) index)))

;; An operand as an execution procedure.
(define (operand-exec operand)
  (let ((what (cdr operand)))
    (cond ((exec? operand) what)
          ((constant? operand) (lambda (env) what))
          ((number-operand? operand) (lambda (env) (car what)))
          (else (lambda (env) (list-ref (car env) what))))))

;; A call of a fixed primitive, with an argument count it accepts, through its
;; implementation `f`. Primitives return to their caller, so the call is an ordinary
;; one (cheaper than a tail call here); `apply`, which tail-calls its procedure, is
;; called as any other procedure.
;;
;; The most frequent primitives are called by their names instead, each by an
;; execution procedure of its own: compiled, this file then calls the primitive
;; directly, and the host can inline the call and the small execution procedure
;; into their callers (one execution procedure for all primitives would be too
;; large for that, and a call through `f` cannot be inlined). Every execution
;; procedure fetches its operands x, y … in the same way, then sets `current`.
(define (primitive-call name f operands cell)
  (case (length operands)
    ((0) (lambda (env) (set! current cell) (let ((v (f #f))) v)))
    ((1) (let* ((o (car operands)) (a (cdr o))
                (a? (exec? o)) (ak? (constant? o)) (an? (number-operand? o)) (a0? (local-at? o 0)))
           (case name
             ((car) (lambda (env)
                      (let ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                     (else (list-ref (car env) a)))))
                        (set! current cell)
                        (car x))))
             ((cdr) (lambda (env)
                      (let ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                     (else (list-ref (car env) a)))))
                        (set! current cell)
                        (cdr x))))
             ((cadr) (lambda (env)
                       (let ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                      (else (list-ref (car env) a)))))
                         (set! current cell)
                         (cadr x))))
             ((null?) (lambda (env)
                        (let ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                       (else (list-ref (car env) a)))))
                          (set! current cell)
                          (null? x))))
             ((pair?) (lambda (env)
                        (let ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                       (else (list-ref (car env) a)))))
                          (set! current cell)
                          (pair? x))))
             (else (lambda (env)
                     (let ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                    (else (list-ref (car env) a)))))
                       (set! current cell)
                       (let ((v (f #f x))) v)))))))
    ((2) (let* ((o (car operands)) (a (cdr o))
                (a? (exec? o)) (ak? (constant? o)) (an? (number-operand? o)) (a0? (local-at? o 0))
                (p (cadr operands)) (b (cdr p))
                (b? (exec? p)) (bk? (constant? p)) (bn? (number-operand? p)) (b0? (local-at? p 0)))
           (case name
             ((+) (lambda (env)
                    (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                    (else (list-ref (car env) a))))
                           (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                                    (else (list-ref (car env) b)))))
                      (set! current cell)
                      (+ x y))))
             ((-) (lambda (env)
                    (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                    (else (list-ref (car env) a))))
                           (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                                    (else (list-ref (car env) b)))))
                      (set! current cell)
                      (- x y))))
             ((*) (lambda (env)
                    (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                    (else (list-ref (car env) a))))
                           (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                                    (else (list-ref (car env) b)))))
                      (set! current cell)
                      (* x y))))
             ((/) (lambda (env)
                    (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                    (else (list-ref (car env) a))))
                           (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                                    (else (list-ref (car env) b)))))
                      (set! current cell)
                      (/ x y))))
             ((=) (lambda (env)
                    (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                    (else (list-ref (car env) a))))
                           (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                                    (else (list-ref (car env) b)))))
                      (set! current cell)
                      (= x y))))
             ((<) (lambda (env)
                    (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                    (else (list-ref (car env) a))))
                           (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                                    (else (list-ref (car env) b)))))
                      (set! current cell)
                      (< x y))))
             ((quotient remainder modulo)
              (let ((quotient? (eq? name 'quotient)) (remainder? (eq? name 'remainder)))
                (lambda (env)
                  (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                  (else (list-ref (car env) a))))
                         (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                                  (else (list-ref (car env) b)))))
                    (set! current cell)
                    (cond (quotient? (quotient x y)) (remainder? (remainder x y)) (else (modulo x y)))))))
             ((cons) (lambda (env)
                       (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                       (else (list-ref (car env) a))))
                              (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                                       (else (list-ref (car env) b)))))
                         (set! current cell)
                         (cons x y))))
             (else (lambda (env)
                     (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                     (else (list-ref (car env) a))))
                            (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                                     (else (list-ref (car env) b)))))
                       (set! current cell)
                       (let ((v (f #f x y))) v)))))))
    ((3) (let* ((o (car operands)) (a (cdr o))
                (a? (exec? o)) (ak? (constant? o)) (an? (number-operand? o)) (a0? (local-at? o 0))
                (p (cadr operands)) (b (cdr p))
                (b? (exec? p)) (bk? (constant? p)) (bn? (number-operand? p)) (b0? (local-at? p 0))
                (q (caddr operands)) (c (cdr q))
                (c? (exec? q)) (ck? (constant? q)) (cn? (number-operand? q)) (c0? (local-at? q 0)))
           (lambda (env)
             (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                             (else (list-ref (car env) a))))
                    (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                             (else (list-ref (car env) b))))
                    (z (cond (c0? (caar env)) (c? (c env)) (ck? c) (cn? (car c))
                             (else (list-ref (car env) c)))))
               (set! current cell)
               (let ((v (f #f x y z))) v)))))
    (else
     (let ((operands (map operand-exec operands)))
       (lambda (env)
         (let ((xs (execute-each operands env)))
           (set! current cell)
           (let ((v (apply f #f xs))) v)))))))

;; A call of any other procedure: `operator` is the operator as an operand (see
;; analyze-operand), fetched like the operands, which are fetched as in
;; primitive-call. The call is in tail position.
(define (procedure-call operator operands cell)
  (let* ((g (if (number-operand? operator) (operand-exec operator) (cdr operator)))
         (g? (or (exec? operator) (number-operand? operator)))
         (gk? (constant? operator)))
    (case (length operands)
      ((0) (lambda (env)
             (let ((f (cond (g? (g env)) (gk? g) (else (list-ref (car env) g)))))
               (set! current cell)
               (f))))
      ((1) (let* ((o (car operands)) (a (cdr o))
                  (a? (exec? o)) (ak? (constant? o)) (an? (number-operand? o)) (a0? (local-at? o 0)))
             (lambda (env)
               (let* ((f (cond (g? (g env)) (gk? g) (else (list-ref (car env) g))))
                      (x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                               (else (list-ref (car env) a)))))
                 (set! current cell)
                 (f x)))))
      ((2) (let* ((o (car operands)) (a (cdr o))
                  (a? (exec? o)) (ak? (constant? o)) (an? (number-operand? o)) (a0? (local-at? o 0))
                  (p (cadr operands)) (b (cdr p))
                  (b? (exec? p)) (bk? (constant? p)) (bn? (number-operand? p)) (b0? (local-at? p 0)))
             (lambda (env)
               (let* ((f (cond (g? (g env)) (gk? g) (else (list-ref (car env) g))))
                      (x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                               (else (list-ref (car env) a))))
                      (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                               (else (list-ref (car env) b)))))
                 (set! current cell)
                 (f x y)))))
      ((3) (let* ((o (car operands)) (a (cdr o))
                  (a? (exec? o)) (ak? (constant? o)) (an? (number-operand? o)) (a0? (local-at? o 0))
                  (p (cadr operands)) (b (cdr p))
                  (b? (exec? p)) (bk? (constant? p)) (bn? (number-operand? p)) (b0? (local-at? p 0))
                  (q (caddr operands)) (c (cdr q))
                  (c? (exec? q)) (ck? (constant? q)) (cn? (number-operand? q)) (c0? (local-at? q 0)))
             (lambda (env)
               (let* ((f (cond (g? (g env)) (gk? g) (else (list-ref (car env) g))))
                      (x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                               (else (list-ref (car env) a))))
                      (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                               (else (list-ref (car env) b))))
                      (z (cond (c0? (caar env)) (c? (c env)) (ck? c) (cn? (car c))
                               (else (list-ref (car env) c)))))
                 (set! current cell)
                 (f x y z)))))
      ((4) (let ((a (operand-exec (car operands))) (b (operand-exec (cadr operands)))
                 (c (operand-exec (caddr operands))) (d (operand-exec (cadddr operands))))
             (lambda (env)
               (let* ((f (cond (g? (g env)) (gk? g) (else (list-ref (car env) g))))
                      (x (a env)) (y (b env)) (z (c env)) (w (d env)))
                 (set! current cell)
                 (f x y z w)))))
      (else
       (let ((operands (map operand-exec operands)))
         (lambda (env)
           (let* ((f (cond (g? (g env)) (gk? g) (else (list-ref (car env) g))))
                  (xs (execute-each operands env)))
             (set! current cell)
             (apply f xs))))))))   ; in tail position, apply is a proper tail call

;; A call of a known procedure with the right number of arguments: the frame of the
;; arguments is made here and the body run in the procedure's environment, found at
;; `depth` frames out (the frame of its letrec), or the empty environment of a global
;; procedure (depth #f). The body's execution procedure is in `body-cell` once the
;; procedure's analysis is done (the call may be inside it).
(define (known-call body-cell depth operands cell)
  (let ((run #f)
        (global? (not depth))
        (here? (eqv? depth 0))
        (out? (eqv? depth 1)))
    (case (length operands)
      ((0) (lambda (env)
             (unless run (set! run (body-cell #f #f)))
             (set! current cell)
             (run (cons '() (cond (global? '()) (here? env) (out? (cdr env))
                                  (else (list-tail env depth)))))))
      ((1) (let* ((o (car operands)) (a (cdr o))
                  (a? (exec? o)) (ak? (constant? o)) (an? (number-operand? o)) (a0? (local-at? o 0)))
             (lambda (env)
               (let ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                              (else (list-ref (car env) a)))))
                 (unless run (set! run (body-cell #f #f)))
                 (set! current cell)
                 (run (cons (cons x '())
                            (cond (global? '()) (here? env) (out? (cdr env))
                                  (else (list-tail env depth)))))))))
      ((2) (let* ((o (car operands)) (a (cdr o))
                  (a? (exec? o)) (ak? (constant? o)) (an? (number-operand? o)) (a0? (local-at? o 0))
                  (p (cadr operands)) (b (cdr p))
                  (b? (exec? p)) (bk? (constant? p)) (bn? (number-operand? p)) (b0? (local-at? p 0)))
             (lambda (env)
               (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                               (else (list-ref (car env) a))))
                      (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                               (else (list-ref (car env) b)))))
                 (unless run (set! run (body-cell #f #f)))
                 (set! current cell)
                 (run (cons (cons x (cons y '()))
                            (cond (global? '()) (here? env) (out? (cdr env))
                                  (else (list-tail env depth)))))))))
      ((3) (let* ((o (car operands)) (a (cdr o))
                  (a? (exec? o)) (ak? (constant? o)) (an? (number-operand? o)) (a0? (local-at? o 0))
                  (p (cadr operands)) (b (cdr p))
                  (b? (exec? p)) (bk? (constant? p)) (bn? (number-operand? p)) (b0? (local-at? p 0))
                  (q (caddr operands)) (c (cdr q))
                  (c? (exec? q)) (ck? (constant? q)) (cn? (number-operand? q)) (c0? (local-at? q 0)))
             (lambda (env)
               (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                               (else (list-ref (car env) a))))
                      (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                               (else (list-ref (car env) b))))
                      (z (cond (c0? (caar env)) (c? (c env)) (ck? c) (cn? (car c))
                               (else (list-ref (car env) c)))))
                 (unless run (set! run (body-cell #f #f)))
                 (set! current cell)
                 (run (cons (cons x (cons y (cons z '())))
                            (cond (global? '()) (here? env) (out? (cdr env))
                                  (else (list-tail env depth)))))))))
      (else
       (let ((operands (map operand-exec operands)))
         (lambda (env)
           (let ((xs (execute-each operands env)))
             (unless run (set! run (body-cell #f #f)))
             (set! current cell)
             (run (cons xs (cond (global? '()) (here? env) (out? (cdr env))
                                 (else (list-tail env depth))))))))))))

;; §4.1.4 Procedures: (lambda formals body …). See section 6 for what a procedure is.
(define (analyze-lambda form cell scope)
  (if (< (length form) 3) (syntax-error "lambda: expected formals and a body" cell))
  (lambda-expression 'lambda (cadr form) (cddr form) cell scope #f))

;; The execution procedure of a lambda expression: each evaluation makes a new
;; procedure, named `name` in messages, closed over the environment. `binding`: see
;; procedure-factory.
(define (lambda-expression name formals body cell scope binding)
  (let ((factory (procedure-factory name formals body cell scope binding)))
    (lambda (env) (make-procedure factory env))))

(define (lambda-form? x scope)
  (and (special? x 'lambda scope) (list? x) (>= (length x) 3)))

;; §4.1.5 Conditionals: (if test consequent [alternate]). Only #f is false.
(define (analyze-if form cell scope)
  (check-operands form cell 2 3)
  (let* ((test (analyze-test (cdr form) scope))
         (consequent (analyze (cddr form) scope)))
    (branch test consequent (and (pair? (cdddr form)) (analyze (cdddr form) scope)))))

;; The test of a conditional, in the car of `cell`: its execution procedure, or, for
;; a call of a primitive with one or two operands, the list (name implementation
;; operands cell), so that `branch` makes the call itself (see primitive-call).
(define (analyze-test cell scope)
  (let* ((x (car cell))
         (entry (and (pair? x) (list? x) (symbol? (car x)) (not (lookup (car x) scope))
                     (primitive-entry (car x))))
         (count (and entry (length (cdr x)))))
    (if (and entry
             (not (eq? (cadr entry) apply))
             (<= 1 count 2)
             (<= (list-ref entry 3) count (list-ref entry 4)))
        (let ((operands (analyze-operands (cdr x) scope)))
          (list (car x) (caddr entry) operands cell))
        (analyze cell scope))))

;; The execution procedure of a conditional: `test` as analyze-test gives it, and the
;; execution procedures `consequent` and `alternate`, either of which may be #f (the
;; value is then unspecified). A test that is a primitive call is made here, as
;; primitive-call makes it, which saves a call of an execution procedure.
(define (branch test consequent alternate)
  (cond ((procedure? test)
         (cond ((not alternate) (lambda (env) (if (test env) (consequent env) unspecified)))
               ((not consequent) (lambda (env) (if (test env) unspecified (alternate env))))
               (else (lambda (env) (if (test env) (consequent env) (alternate env))))))
        ((null? (cdr (caddr test)))
         (let* ((name (car test)) (f (cadr test)) (cell (cadddr test))
                (o (car (caddr test))) (a (cdr o))
                (a? (exec? o)) (ak? (constant? o)) (an? (number-operand? o)) (a0? (local-at? o 0))
                (null-test? (eq? name 'null?)) (pair-test? (eq? name 'pair?)) (not? (eq? name 'not)))
           (lambda (env)
             (if (let ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                (else (list-ref (car env) a)))))
                   (set! current cell)
                   (cond (null-test? (null? x)) (pair-test? (pair? x)) (not? (not x))
                         (else (let ((v (f #f x))) v))))
                 (if consequent (consequent env) unspecified)
                 (if alternate (alternate env) unspecified)))))
        (else
         (let* ((name (car test)) (f (cadr test)) (cell (cadddr test))
                (o (car (caddr test))) (a (cdr o))
                (a? (exec? o)) (ak? (constant? o)) (an? (number-operand? o)) (a0? (local-at? o 0))
                (p (cadr (caddr test))) (b (cdr p))
                (b? (exec? p)) (bk? (constant? p)) (bn? (number-operand? p)) (b0? (local-at? p 0))
                (num-eq? (eq? name '=)) (lt? (eq? name '<)) (gt? (eq? name '>)) (le? (eq? name '<=))
                (ge? (eq? name '>=)) (same? (eq? name 'eq?)))
           (lambda (env)
             (if (let* ((x (cond (a0? (caar env)) (a? (a env)) (ak? a) (an? (car a))
                                 (else (list-ref (car env) a))))
                        (y (cond (b0? (caar env)) (b? (b env)) (bk? b) (bn? (car b))
                                 (else (list-ref (car env) b)))))
                   (set! current cell)
                   (cond (num-eq? (= x y)) (lt? (< x y)) (gt? (> x y)) (le? (<= x y)) (ge? (>= x y))
                         (same? (eq? x y))
                         (else (let ((v (f #f x y))) v))))
                 (if consequent (consequent env) unspecified)
                 (if alternate (alternate env) unspecified)))))))

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
;; and a last (else expression …). The chosen clause's body is in tail position.
(define (analyze-cond form cell scope)
  (if (null? (cdr form)) (syntax-error "cond: expected at least one clause" cell))
  (let ((clauses (let each ((cells (cells-of (cdr form))))
                   (if (null? cells)
                       '()
                       (let ((clause (cond-clause (car cells) scope)))
                         (if (and (not (car clause)) (pair? (cdr cells)))
                             (syntax-error "cond: else clause must be the last clause" (car cells)))
                         (cons clause (each (cdr cells))))))))
    (cond-chain clauses)))

;; The clauses as a chain of execution procedures, each trying one clause (or two)
;; and handing over to the next in tail position; an else clause is its body.
(define (cond-chain clauses)
  (if (null? clauses)
      (lambda (env) unspecified)
      (let* ((clause (car clauses))
             (test (car clause))
             (sequence? (cadr clause))
             (body (caddr clause))
             (call (cadddr clause))
             (next (and (pair? (cdr clauses)) (cadr clauses))))
        (cond ((not test) body)                                   ; else
              ((and sequence? (procedure? test) next (car next) (cadr next) (procedure? (car next)))
               ;; two clauses (test expression …) at once
               (let ((test2 (car next)) (body2 (caddr next)) (rest (cond-chain (cddr clauses))))
                 (lambda (env) (if (test env) (body env) (if (test2 env) (body2 env) (rest env))))))
              (else
               (let ((rest (cond-chain (cdr clauses))))
                 (cond (sequence? (branch test body rest))
                       ((not body) (lambda (env) (let ((v (test env))) (if v v (rest env)))))   ; (test)
                       (else                                                          ; (test => receiver)
                        (lambda (env)
                          (let ((v (test env)))
                            (if v
                                (let ((f (body env)))
                                  (set! current call)
                                  (f v))
                                (rest env))))))))))))

;; A cond clause, in the car of `cell`, as (test sequence? body cell): test is an
;; execution procedure, or #f for else; with sequence? the body is the execution
;; procedure of the clause's expressions (and the test is as analyze-test gives
;; it), else it is that of the receiver, or #f for a clause (test) whose value is
;; the test's.
(define (cond-clause cell scope)
  (let ((clause (car cell)))
    (if (not (and (pair? clause) (list? clause)))
        (syntax-error "cond: expected a clause (test expression …)" cell))
    (cond ((and (eq? (car clause) 'else) (not (lookup 'else scope)))
           (if (null? (cdr clause)) (syntax-error "cond: else clause needs at least one expression" cell))
           (list #f #t (analyze-sequence (cells-of (cdr clause)) scope) cell))
          ((null? (cdr clause)) (list (analyze clause scope) #f #f cell))
          ((arrow? (cadr clause) scope)
           (if (not (= (length clause) 3)) (syntax-error "cond: expected (test => receiver)" cell))
           (list (analyze clause scope) #f (analyze (cddr clause) scope) cell))
          (else
           (list (analyze-test clause scope) #t (analyze-sequence (cells-of (cdr clause)) scope) cell)))))

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
                 (if (not (null? (cdr cells)))
                     (syntax-error "case: else clause must be the last clause" cell))
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
      (syntax-error (string-append (symbol->string (car form))
                                   ": expected a test and at least one expression")
                    cell))
  (let ((test (analyze-test (cdr form) scope))
        (body (analyze-sequence (cells-of (cddr form)) scope)))
    (if (eq? (car form) 'when)
        (branch test body #f)
        (branch test #f body))))

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
    (cons (car binding) (cdr binding))))

(define (check-global name cell)
  (if (memq name special-forms)
      (syntax-error (string-append "cannot bind the special form name '" (symbol->string name) "'") cell)))

;; The execution procedure of the initialiser in the car of `cell` for variable
;; `name`: a lambda expression bound to a name makes procedures of that name (for
;; messages), as compiled code does.
(define (analyze-init name cell scope)
  (definition-value (binding-definition name cell scope) scope #f))

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
         (bindings (parse-bindings (caddr form) (cddr form) "let"))
         (inits (map (lambda (b) (analyze-init (car b) (cdr b) scope)) bindings))
         (frame (frame-for (list name)))
         (factory (procedure-factory name (map car bindings) (cdddr form) cell (cons frame scope)
                                     (and (not (cell-slots frame)) (car frame))))
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
    (procedure-call (cons 'exec operator) (map (lambda (init) (cons 'exec init)) inits) cell)))

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
     (map (lambda (b) (list (car b) (cdr b))) (parse-bindings (cadr form) (cdr form) keyword))
     (lambda (inner) (analyze-body (cells-of (cddr form)) cell inner))
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
                      (syntax-error "do: expected (variable init [step])" spec-cell))))
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
(define (splice-begins cells scope)
  (cond ((null? cells) '())
        ((and (special? (car (car cells)) 'begin scope) (list? (car (car cells))))
         (append (splice-begins (cells-of (cdr (car (car cells)))) scope) (splice-begins (cdr cells) scope)))
        ((special? (car (car cells)) 'define scope) (cons (car cells) (splice-begins (cdr cells) scope)))
        (else cells)))

;; Definitions, from internal or top-level `define`s and from letrec bindings, are
;; lists of one of two shapes:
;;   (name init-cell)              name bound to the expression in the car of init-cell;
;;   (name formals body cell)      name bound to a procedure (body: a list of forms);
;;                                 `cell` holds the source it came from.
;; The first shape becomes the second when the expression is a lambda expression in
;; the scope of the definition.
(define (binding-definition name init-cell scope)
  (let ((x (car init-cell)))
    (if (lambda-form? x scope)
        (list name (cadr x) (cddr x) init-cell)
        (list name init-cell))))

(define (procedure-definition? definition)
  (pair? (cddr definition)))

(define (in-scope definition scope)
  (if (procedure-definition? definition)
      definition
      (binding-definition (car definition) (cadr definition) scope)))

;; The definition made by (define name expression) or (define (name . formals) body …);
;; a global may not take a special form's name.
(define (parse-definition cell top-level?)
  (let ((form (car cell)))
    (if (not (and (list? form) (>= (length form) 2)))
        (syntax-error "define: malformed definition" cell))
    (let ((target (cadr form)))
      (cond ((symbol? target)
             (if (not (= (length form) 3))
                 (syntax-error "define: expected a name and one expression" cell))
             (if top-level? (check-global target (cdr form)))
             (list target (cddr form)))
            ((and (pair? target) (symbol? (car target)))
             (if (null? (cddr form))
                 (syntax-error (string-append "define: procedure " (symbol->string (car target))
                                              " has no body")
                               cell))
             (if top-level? (check-global (car target) target))
             (list (car target) (cdr target) (cddr form) cell))
            (else (syntax-error "define: expected a name or (name formals …)" (cdr form)))))))

;; The execution procedure of a definition's value, in `scope`; `binding`: see
;; procedure-factory.
(define (definition-value definition scope binding)
  (let ((definition (in-scope definition scope)))
    (if (procedure-definition? definition)
        (lambda-expression (car definition) (cadr definition) (caddr definition) (cadddr definition) scope
                           binding)
        (analyze (cadr definition) scope))))

;; §5.3.2 A body: internal definitions (with letrec* meaning) then expressions.
(define (analyze-body cells cell scope)
  (let split ((cells (splice-begins cells scope)) (definitions '()))
    (cond ((null? cells) (syntax-error "body has no expression after its definitions" cell))
          ((special? (car (car cells)) 'define scope)
           (split (cdr cells) (cons (parse-definition (car cells) #f) definitions)))
          (else
           (for-each (lambda (c)
                       (if (special? (car c) 'define scope)
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
         ;; (whether an initialiser is a lambda expression depends on the new names)
         (definitions (let ((named (cons (scope-frame names (map kind-of names)) scope)))
                        (map (lambda (d) (in-scope d named)) definitions)))
         (direct (let mark ((definitions definitions) (early #t))
                   (if (null? definitions)
                       '()
                       (let ((procedure? (and early
                                              (procedure-definition? (car definitions))
                                              (not (memq (car (car definitions)) assigned-names)))))
                         (cons procedure? (mark (cdr definitions) procedure?))))))
         (frame (scope-frame names (map (lambda (direct?) (if direct? 'value 'cell)) direct)))
         (inner (cons frame scope))
         (slots (map (lambda (definition direct? slot)
                       (if direct?
                           (procedure-factory (car definition) (cadr definition) (caddr definition)
                                              (cadddr definition) inner slot)
                           (definition-value definition inner #f)))
                     definitions direct frame))
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
             (let* ((definition (parse-definition cell #t))
                    (global (assq (car definition) defined-globals))
                    (outside known-procedures)
                    ;; A stable global procedure is known in its own body (only there is
                    ;; it sure to be defined already).
                    (value (definition-value definition '()
                                             (and (memq (car definition) stable-globals) global))))
               (set! known-procedures outside)
               ((cdr global) 'define cell value))
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
;; `body` (a list of cells) in `scope`, into a factory. `binding`, unless #f, is a
;; binding sure to hold the procedure (see known-procedures): calls through it with
;; the right argument count become known calls, when the frame of the arguments needs
;; no cell.
(define (procedure-factory name formals body cell scope binding)
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
                    (scope-frame names (map (lambda (n) (if (eq? n rest) 'tail 'value)) names))))
         (body-cell (make-cell #f)))
    (if (and binding (not boxed) (not rest))
        (set! known-procedures (cons (cons binding (cons body-cell count)) known-procedures)))
    (let ((run (analyze-body (cells-of body) cell (cons frame scope)))
          (label (symbol->string name)))
      (body-cell #t run)
      (lambda ()
        (let ((env '()))
          (cons (cond ((or boxed rest (> count 3))
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
                      ((= count 2)
                       (lambda arguments
                         (if (and (pair? arguments) (pair? (cdr arguments)) (null? (cddr arguments)))
                             (run (cons arguments env))
                             (arity-error label count rest arguments))))
                      (else
                       (lambda arguments
                         (if (and (pair? arguments) (pair? (cdr arguments)) (pair? (cddr arguments))
                                  (null? (cdddr arguments)))
                             (run (cons arguments env))
                             (arity-error label count rest arguments)))))
                (lambda (e) (set! env e))))))))

;; Formals: (name …), name, or (name … . name), as (required-names . rest-name-or-#f).
(define (parse-formals formals cell)
  (let loop ((x formals) (required '()))
    (cond ((null? x) (cons (reverse required) #f))
          ((symbol? x)
           (if (memq x required)
               (syntax-error (string-append "lambda: duplicate parameter '" (symbol->string x) "'") cell))
           (cons (reverse required) x))
          ((pair? x)
           (let ((name (car x)))
             (if (not (symbol? name)) (syntax-error "lambda: formal parameter must be a symbol" x))
             (if (memq name required)
                 (syntax-error (string-append "lambda: duplicate parameter '" (symbol->string name) "'") x))
             (loop (cdr x) (cons name required))))
          ((eq? x formals) (syntax-error "lambda: expected a list of formals or a symbol" cell))
          (else (syntax-error "lambda: rest parameter must be a symbol" cell)))))

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
                              (if rest
                                  (string-append "at least " (number->string count))
                                  (number->string count))
                              " argument(s), got " (number->string (length arguments)))
               current))

;; The value of this file: the entry point the host calls.
analyze-program
