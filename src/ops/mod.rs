//! The elementary operations: each one's value and local partial derivatives, in one place.
//!
//! An operation is defined by a rule that maps its input values to its output value and its
//! local partials. Recording (the methods on [`Var`](crate::Var) and the operators) and replaying
//! a recorded tape both go through these rules, so the two can never disagree. The rules of the
//! elementary operations are entries of the tables in `src/ops/table.rs`, from which this module
//! generates the kinds, the rules and the methods on `Var`.
//!
//! - [`arith`]: the operators `+ - * /`, unary `-` and the compound assignments;
//! - [`elementary`]: `powi`; the other methods on `Var` (`exp`, `sin`, `pow`, `max`, …) come from
//!   the tables;
//! - [`nary`]: one-node sums and dot products, and user-defined operations;
//! - [`compare`]: comparisons that record their outcome, for replay.

pub mod arith;
pub mod compare;
pub mod elementary;
pub(crate) mod forward;
pub mod nary;
pub(crate) mod record;
pub(crate) mod table;

use crate::Scalar;

/// `1`, for an entry whose number the tape keeps as the node's constant (a function's parameter,
/// the `c` of `x + c`).
macro_rules! one_if {
    ($param:ident) => {
        1
    };
}

/// The type of a function's parameter: the tape's scalar.
macro_rules! param_type {
    ($param:ident) => {
        T
    };
}

/// The parameter of a function rebuilt from the node's recorded constant.
macro_rules! param_value {
    ($param:ident $constant:ident) => {
        $constant
    };
}

/// A number drawn as an `f64`, as the type an operation carries: the tape's scalar (`T`), or
/// `powi`'s exponent (`i32`).
macro_rules! number_as {
    (T $n:ident $($param:ident)?) => {
        T::from_f64($n)
    };
    (i32 $n:ident) => {
        $n as i32
    };
}

/// The second of two names: a binding for the other operand's number in a pattern.
macro_rules! second {
    ($first:ident $second:ident) => {
        $second
    };
}

/// A method on `Var` for an operation of two Vars that has one (`x.pow(y)`); nothing for an
/// operator (`x + y`).
macro_rules! binary_method {
    (operator $method:ident ; $(#[$attr:meta])* ; $variant:ident $name:literal) => {};
    (method $method:ident ; $(#[$attr:meta])* ; $variant:ident $name:literal) => {
        $(#[$attr])*
        #[inline]
        #[track_caller]
        pub fn $method(self, other: Self) -> Self {
            self.binary(other, Binary::$variant, $name)
        }
    };
}

/// Whether an operation of two Vars is an operator.
macro_rules! is_operator {
    (operator) => {
        true
    };
    (method) => {
        false
    };
}

/// Every operation of the tables, as one set of definitions: the [`OpKind`] enum with its names
/// and layouts, the [`Binary`] and [`Unary`] rules, the methods on `Var` for the functions and
/// for the operations of two Vars that are methods, and [`BINARIES`], [`FIXED`] and
/// [`FUNCTIONS`], what random expressions and explanations read.
macro_rules! define_operations {
    (
        binaries: [$(
            $(#[$battr:meta])*
            $bvariant:ident $bname:literal $bkind:ident $bmethod:ident {
                float: $bfloat:ident,
                shape: $bshape:expr,
                eval: |$bx:ident, $by:ident| $beval:expr,
                explain: $bvalue_text:literal, $bpartial_text:expr,
                domains: [$bdomain_x:expr, $bdomain_y:expr],
                tie: $btie:expr,
                steepest: |$bsx:ident, $bsy:ident| $bsteepest:expr $(,)?
            }
        ),* $(,)?]
        fixed: [$(
            $(#[$uattr:meta])*
            $uvariant:ident $uname:literal $(($upayload:ident))? {
                shape: $ushape:expr,
                $(keeps: |$ukeep:ident| $ukept:expr,)?
                $(aux: |$uaux:ident| $uauxed:expr,)?
                $(rebuild: |$urc:ident, $urp:ident, $ura:ident| $urebuild:expr,)?
                eval: |$ux:ident $(, $un:ident)?| $ueval:expr,
                explain: |$uex:ident $(, $uen:ident)?| $uexplain:expr,
                label: |$ulnum:ident $(, $uln:ident)?| $ulabel:expr,
                draw: [$($udraw:expr),* $(,)?],
                domain: |$udn:ident| $udomain:expr,
                image: |$uin:ident| $uimage:expr,
                steepest: $usteepest:expr $(,)?
            }
        ),* $(,)?]
        functions: $(
            $(#[$attr:meta])*
            $variant:ident $method:ident $name:literal {
                float: $float:ident,
                $(param: $param:ident in [$($choice:expr),* $(,)?],)?
                value: |$vx:ident| $value:expr,
                partial: |$px:ident, $py:ident| $partial:expr,
                of_output: $of_output:expr,
                explain: $value_text:literal, $partial_text:expr,
                domain: $domain:expr,
                image: $image:expr,
                kink: $kink:expr,
                steepest: $steepest:expr $(,)?
            }
        ),* $(,)?
    ) => {
        /// The kind of operation a tape node records: one byte per node.
        ///
        /// Used in error messages, statistics and explanations of the chain rule; [`OpKind::name`]
        /// gives the short name that appears in them.
        ///
        /// # Examples
        ///
        /// ```
        /// use tapegrad::{OpKind, Tape};
        ///
        /// let tape = Tape::new();
        /// let x = tape.var(1.0);
        /// let y = x.sin();
        /// assert_eq!(tape.kind(y), OpKind::Sin);
        /// assert_eq!(OpKind::Sin.name(), "sin");
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        #[non_exhaustive]
        pub enum OpKind {
            /// An input or parameter created by [`Tape::var`](crate::Tape::var).
            Var,
            /// A constant that never receives a gradient ([`Tape::constant`](crate::Tape::constant),
            /// [`Var::detach`](crate::Var::detach)).
            Const,
            $(
                $(#[$uattr])*
                $uvariant,
            )*
            $(
                #[doc = concat!("`", $bname, "` of two Vars.")]
                $bvariant,
            )*
            $(
                #[doc = concat!("`", $name, "`: [`Var::", stringify!($method), "`](crate::Var::",
                    stringify!($method), ").")]
                $variant,
            )*
            /// `x₁ + … + xₙ` in one node.
            Sum,
            /// `x₁y₁ + … + xₙyₙ` for two slices of Vars, in one node.
            Dot,
            /// `x₁c₁ + … + xₙcₙ` for Vars and plain numbers, in one node.
            DotConst,
            /// A user-defined operation with its own value and partials.
            Custom,
            /// A comparison of two Vars whose outcome was recorded ([`Var::lt`](crate::Var::lt), …):
            /// no value, no gradient; replay checks that it comes out the same.
            Compare,
            /// A comparison of a Var with a plain number, recorded like [`OpKind::Compare`].
            CompareConst,
        }

        impl OpKind {
            /// The short name used in messages and explanations: `"+"`, `"sin"`, `"dot"`, …
            pub fn name(self) -> &'static str {
                match self {
                    OpKind::Var => "var",
                    OpKind::Const => "const",
                    $(OpKind::$bvariant => $bname,)*
                    $(OpKind::$uvariant => $uname,)*
                    $(OpKind::$variant => $name,)*
                    kind @ (OpKind::Sum | OpKind::Dot | OpKind::DotConst | OpKind::Custom) => {
                        nary_of(kind).name()
                    }
                    OpKind::Compare | OpKind::CompareConst => "compare",
                }
            }

            /// Every kind, in the order of their byte values.
            pub const ALL: [OpKind; 8 + [$($bname),*].len() + [$($uname),*].len()
                + [$($name),*].len()] = [
                OpKind::Var,
                OpKind::Const,
                $(OpKind::$uvariant,)*
                $(OpKind::$bvariant,)*
                $(OpKind::$variant,)*
                OpKind::Sum,
                OpKind::Dot,
                OpKind::DotConst,
                OpKind::Custom,
                OpKind::Compare,
                OpKind::CompareConst,
            ];

            /// How the node's operands are laid out on the tape, which is all the reverse sweep
            /// needs.
            #[inline(always)]
            pub(crate) fn shape(self) -> Shape {
                match self {
                    OpKind::Var | OpKind::Const => Shape::Leaf,
                    $(OpKind::$bvariant => $bshape,)*
                    $(OpKind::$uvariant => $ushape,)*
                    $(OpKind::$variant)|* => Shape::Unary,
                    kind @ (OpKind::Sum | OpKind::Dot | OpKind::DotConst | OpKind::Custom) => {
                        nary_of(kind).shape()
                    }
                    OpKind::Compare => Shape::Guard(3),
                    OpKind::CompareConst => Shape::Guard(2),
                }
            }

            /// How many plain constants the node keeps for replay and explanation (`c` in
            /// `x + c`, a leaf's value, …). N-ary nodes keep theirs in their partials, custom
            /// nodes their value; the operations of two Vars keep none.
            #[inline(always)]
            pub(crate) fn consts(self) -> usize {
                match self {
                    OpKind::Var | OpKind::Const | OpKind::Custom | OpKind::CompareConst => 1,
                    // An operation with a plain number keeps it if its entry says so.
                    $(OpKind::$uvariant => 0 $(+ one_if!($ukeep))?,)*
                    // A function of the table keeps its parameter, if it has one.
                    $(OpKind::$variant => 0 $(+ one_if!($param))?,)*
                    _ => 0,
                }
            }

            /// The table's entry for a function of one input, if this is one.
            pub(crate) fn function(self) -> Option<&'static FunctionSpec> {
                FUNCTIONS.iter().find(|f| f.kind == self)
            }

            /// The table's entry for an operation of one Var and a plain number, if this is one.
            pub(crate) fn fixed(self) -> Option<&'static FixedSpec> {
                FIXED.iter().find(|f| f.kind == self)
            }

            /// The table's entry for an operation of two Vars, if this is one.
            pub(crate) fn binary(self) -> Option<&'static BinarySpec> {
                BINARIES.iter().find(|b| b.kind == self)
            }

            /// Whether this is a one-input operation outside the table of functions: negation,
            /// arithmetic with a plain number, an integer power.
            pub(crate) fn is_fixed_unary(self) -> bool {
                matches!(self, $(OpKind::$uvariant)|*)
            }
        }

        /// An operation of two Vars: the rule that gives its value and both local partials.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Binary {
            $($bvariant,)*
        }

        impl Binary {
            /// The kind recorded on the tape.
            #[inline(always)]
            pub(crate) fn kind(self) -> OpKind {
                match self {
                    $(Binary::$bvariant => OpKind::$bvariant,)*
                }
            }

            /// Rebuilds the operation from its recorded kind (replay).
            pub(crate) fn from_kind(kind: OpKind) -> Self {
                match kind {
                    $(OpKind::$bvariant => Binary::$bvariant,)*
                    other => unreachable!("{} is not a binary operation", other.name()),
                }
            }

            /// Value and local partials `(d/dx, d/dy)` at `(x, y)`, by the table's rule, kinks and
            /// domain conventions included.
            #[inline(always)]
            pub(crate) fn eval<T: Scalar>(self, x: T, y: T) -> (T, T, T) {
                match self {
                    $(Binary::$bvariant => {
                        let ($bx, $by) = (x, y);
                        $beval
                    })*
                }
            }
        }

        /// The table's operations of two Vars, as data: what random expressions and explanations
        /// read.
        pub(crate) const BINARIES: &[BinarySpec] = &[$(
            BinarySpec {
                kind: OpKind::$bvariant,
                rule: Binary::$bvariant,
                method: stringify!($bmethod),
                operator: is_operator!($bkind),
                value_text: $bvalue_text,
                partial_text: $bpartial_text,
                domains: [$bdomain_x, $bdomain_y],
                tie: $btie,
                steepest: |$bsx: Interval, $bsy: Interval| -> [f64; 2] { $bsteepest },
            },
        )*];

        impl<'t, T: Scalar> crate::Var<'t, T> {
            $(binary_method!($bkind $bmethod ; $(#[$battr])* ; $bvariant $bname);)*
        }

        /// A one-input operation with its constants: the rule that gives its value and local
        /// partial. (`Debug`, `Clone`, `Copy` and `PartialEq` are written out below: a derive
        /// cannot see through the macro that names a parameter's type.)
        pub(crate) enum Unary<T> {
            $($uvariant $(($upayload))?,)*
            $($variant $((param_type!($param)))?,)*
        }

        impl<T: Scalar> PartialEq for Unary<T> {
            /// The same operation with the same number (constant, factor, exponent, parameter).
            fn eq(&self, other: &Self) -> bool {
                match (*self, *other) {
                    $((Unary::$uvariant $(($un))?, Unary::$uvariant $((second!($un theirs)))?) => {
                        true $(&& $un == theirs)?
                    })*
                    $((Unary::$variant $(($param))?, Unary::$variant $((second!($param theirs)))?) => {
                        true $(&& $param == theirs)?
                    })*
                    _ => false,
                }
            }
        }

        impl<T: Scalar> std::fmt::Debug for Unary<T> {
            /// The variant with its number, `AddConst(2.0)`, `Powi(3)`, `Exp`.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match *self {
                    $(Unary::$uvariant $(($un))? => {
                        f.debug_tuple(stringify!($uvariant)) $(.field(&$un))? .finish()
                    })*
                    $(Unary::$variant $(($param))? => {
                        f.debug_tuple(stringify!($variant)) $(.field(&$param))? .finish()
                    })*
                }
            }
        }

        impl<T: Clone> Clone for Unary<T> {
            fn clone(&self) -> Self {
                match self {
                    $(Unary::$uvariant $(($un))? => Unary::$uvariant $(($un.clone()))?,)*
                    $(Unary::$variant $(($param))? => Unary::$variant $(($param.clone()))?,)*
                }
            }
        }

        impl<T: Scalar> Unary<T> {
            /// The kind recorded on the tape.
            #[inline(always)]
            pub(crate) fn kind(self) -> OpKind {
                match self {
                    $(Unary::$uvariant { .. } => OpKind::$uvariant,)*
                    $(Unary::$variant { .. } => OpKind::$variant,)*
                }
            }

            /// Rebuilds the operation from its recorded kind, constant and partial (replay).
            #[allow(unused_variables)]
            pub(crate) fn from_record(kind: OpKind, constant: T, partial: T, aux: u32) -> Self {
                match kind {
                    $(OpKind::$uvariant => Unary::$uvariant $(({
                        let ($urc, $urp, $ura) = (constant, partial, aux);
                        $urebuild
                    }))?,)*
                    $(OpKind::$variant => Unary::$variant $((param_value!($param constant)))?,)*
                    other => unreachable!("{} is not a unary operation", other.name()),
                }
            }

            /// The operation `kind` of one input with the number `n` — its constant, exponent or
            /// parameter, ignored by an operation without one — as random expressions draw it.
            #[allow(unused_variables)]
            pub(crate) fn with_number(kind: OpKind, n: f64) -> Self {
                match kind {
                    $(OpKind::$uvariant => Unary::$uvariant $((number_as!($upayload n)))?,)*
                    $(OpKind::$variant => Unary::$variant $((number_as!(T n $param)))?,)*
                    other => unreachable!("{} is not a unary operation", other.name()),
                }
            }

            /// Value and local partial `d value / d x` at `x`, by the operation's entry in a table.
            #[inline(always)]
            pub(crate) fn eval(self, x: T) -> (T, T) {
                match self {
                    $(Unary::$uvariant $(($un))? => {
                        let $ux = x;
                        $ueval
                    })*
                    $(Unary::$variant $(($param))? => {
                        let $vx = x;
                        let value: T = $value;
                        let ($px, $py) = (x, value);
                        (value, $partial)
                    })*
                }
            }

            /// The constant kept on the tape for replay, if the operation has one besides its
            /// partial: an operation's number its entry `keeps`, a function's parameter.
            #[inline(always)]
            pub(crate) fn constant(self) -> Option<T> {
                match self {
                    $($(Unary::$uvariant($ukeep) => Some($ukept),)?)*
                    $($(Unary::$variant($param) => Some($param),)?)*
                    _ => None,
                }
            }

            /// The auxiliary word recorded after the operand, if the operation has one: the
            /// number its entry writes there (`powi`'s exponent), which `rebuild` reads back.
            #[inline(always)]
            pub(crate) fn aux(self) -> Option<u32> {
                match self {
                    $($(Unary::$uvariant($uaux) => Some($uauxed),)?)*
                    _ => None,
                }
            }

            /// The formulas an explanation prints for an operation outside the table of
            /// functions: the value's and the partial's, `x` being the operand's name; `None` for a
            /// function.
            pub(crate) fn fixed_texts(self, x: &str) -> Option<(String, String)> {
                match self {
                    $(Unary::$uvariant $(($uen))? => {
                        let $uex = x;
                        Some($uexplain)
                    })*
                    _ => None,
                }
            }

            /// The label of an operation outside the table of functions in a graph, its numbers
            /// written by `num`; `None` for a function.
            pub(crate) fn fixed_label(self, num: impl Fn(T) -> String) -> Option<String> {
                match self {
                    $(Unary::$uvariant $(($uln))? => {
                        let $ulnum = &num;
                        Some($ulabel)
                    })*
                    _ => None,
                }
            }

            /// The partial from the output `y` alone, for the functions whose partial reads only
            /// it (`of_output` in the table); `None` for the others.
            #[inline(always)]
            #[allow(unused_variables)]
            pub(crate) fn partial_of_output(self, y: T) -> Option<T> {
                match self {
                    $(Unary::$variant $(($param))? if $of_output => {
                        // The input is not read: `of_output` says so.
                        let ($px, $py) = (y, y);
                        Some($partial)
                    })*
                    _ => None,
                }
            }
        }

        impl<'t, T: Scalar> crate::Var<'t, T> {
            $(
                $(#[$attr])*
                #[inline]
                pub fn $method(self $(, $param: T)?) -> Self {
                    self.unary(Unary::$variant $(($param))?)
                }
            )*
        }

        /// The operations of one Var and a plain number, as data: what random expressions read.
        pub(crate) const FIXED: &[FixedSpec] = &[$(
            FixedSpec {
                kind: OpKind::$uvariant,
                choices: &[$($udraw),*],
                domain: |$udn: f64| -> Interval { $udomain },
                image: |$uin: f64| -> Image { $uimage },
                steepest: $usteepest,
            },
        )*];

        /// The table's functions, as data: what random expressions and explanations read.
        pub(crate) const FUNCTIONS: &[FunctionSpec] = &[$(
            FunctionSpec {
                kind: OpKind::$variant,
                method: stringify!($method),
                param_choices: &[$($($choice),*)?],
                of_output: $of_output,
                value_text: $value_text,
                partial_text: $partial_text,
                domain: $domain,
                image: $image,
                kink: $kink,
                steepest: $steepest,
            },
        )*];
    };
}

/// Gathers the three tables and hands them to [`define_operations`].
macro_rules! gather_tables {
    () => {
        table::binaries!(gather_tables(binaries));
    };
    (binaries $($binaries:tt)*) => {
        table::fixed_unaries!(gather_tables(fixed [$($binaries)*]));
    };
    (fixed [$($binaries:tt)*] $($fixed:tt)*) => {
        table::functions!(define_operations(
            binaries: [$($binaries)*] fixed: [$($fixed)*] functions:
        ));
    };
}

impl<T: Copy> Copy for Unary<T> {}

/// An elementary function of the [`table`], as data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FunctionSpec {
    /// Its kind on the tape.
    pub(crate) kind: OpKind,
    /// The name of its method on `Var`.
    pub(crate) method: &'static str,
    /// The values random expressions draw its parameter from; empty when it has none.
    pub(crate) param_choices: &'static [f64],
    /// Whether its partial reads only the output.
    pub(crate) of_output: bool,
    /// The value's formula, `{x}` standing for the input's name.
    pub(crate) value_text: &'static str,
    /// The partial's formula for an input below, at and above the kink (all three the same for a
    /// smooth function); `{x}` and `{y}` stand for the input's and the output's names.
    pub(crate) partial_text: [&'static str; 3],
    /// The open interval where the function is smooth and finite.
    pub(crate) domain: (f64, f64),
    /// How an interval of inputs maps to outputs.
    pub(crate) image: Image,
    /// Where the partial jumps, if anywhere.
    pub(crate) kink: Option<f64>,
    /// Where `|partial|` is largest over an interval of inputs.
    pub(crate) steepest: Steepest,
}

impl FunctionSpec {
    /// The partial's formula for an input on the given side of the kink.
    pub(crate) fn partial_text(&self, side: std::cmp::Ordering) -> &'static str {
        self.partial_text[(side as i8 + 1) as usize]
    }
}

/// An operation of one Var and a plain number of the [`table`] (`x + c`, `powi`, `-x`), as
/// data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedSpec {
    /// Its kind on the tape.
    pub(crate) kind: OpKind,
    /// The numbers random expressions draw for it; empty when it carries none.
    pub(crate) choices: &'static [f64],
    /// The open interval where it is smooth and finite, for the number it carries.
    pub(crate) domain: fn(f64) -> Interval,
    /// How an interval of inputs maps to outputs, for the number it carries.
    pub(crate) image: fn(f64) -> Image,
    /// Where `|partial|` is largest over an interval of inputs.
    pub(crate) steepest: Steepest,
}

/// How an interval of inputs maps to outputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Image {
    /// Monotone: the outputs lie between the values at the ends.
    Monotone,
    /// Within fixed bounds, whatever the inputs.
    Within(f64, f64),
    /// Even and increasing in `|x|`: between the values at the smallest and largest `|x|`.
    Even,
}

/// Where `|partial|` is largest over an interval of inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Steepest {
    /// At one of the interval's ends.
    AtEnds,
    /// Never above this bound.
    AtMost(f64),
}

/// The same partial formula on every side (a smooth function).
const fn same(text: &'static str) -> [&'static str; 3] {
    [text, text, text]
}

/// A partial formula for an input below, at and above the kink.
const fn by_sign(below: &'static str, at: &'static str, above: &'static str) -> [&'static str; 3] {
    [below, at, above]
}

/// An interval of numbers `(lo, hi)`: an operand's domain, or the values it takes.
pub(crate) type Interval = (f64, f64);

/// An operation of two Vars of the [`table`], as data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BinarySpec {
    /// Its kind on the tape.
    pub(crate) kind: OpKind,
    /// Its rule.
    pub(crate) rule: Binary,
    /// The name of its method on `Var`, or of its operator's trait (`add` for `+`).
    pub(crate) method: &'static str,
    /// Whether it is an operator (`x + y`) rather than a method (`x.pow(y)`).
    pub(crate) operator: bool,
    /// The value's formula, `{x}` and `{y}` standing for the operands' names.
    pub(crate) value_text: &'static str,
    /// The partials' formulas `[∂/∂x, ∂/∂y]` when `x` is the piece taken, then when `y` is (the
    /// same for a smooth operation); `{z}` stands for the output's name.
    pub(crate) partial_text: [[&'static str; 2]; 2],
    /// The open interval each operand is kept inside by random expressions.
    pub(crate) domains: [Interval; 2],
    /// Whether the partials jump where `x == y`.
    pub(crate) tie: bool,
    /// Bounds on `|∂/∂x|` and `|∂/∂y|` for operands in the intervals given.
    pub(crate) steepest: fn(Interval, Interval) -> [f64; 2],
}

impl BinarySpec {
    /// The partials' formulas for a node whose recorded partial to `x` is `dx`: a piecewise
    /// operation took `x`'s piece where it is nonzero.
    pub(crate) fn partial_text<T: Scalar>(&self, dx: T) -> [&'static str; 2] {
        let piece = usize::from(self.tie && dx == T::zero());
        self.partial_text[piece]
    }
}

/// The same partial formulas whichever piece is taken (a smooth operation of two Vars).
const fn same2(texts: [&'static str; 2]) -> [[&'static str; 2]; 2] {
    [texts, texts]
}

/// The partial formulas when `x` is the piece taken and when `y` is.
const fn by_branch(
    x_taken: [&'static str; 2],
    y_taken: [&'static str; 2],
) -> [[&'static str; 2]; 2] {
    [x_taken, y_taken]
}

/// The domain of an operand that may be any number.
const ANYWHERE: Interval = (f64::NEG_INFINITY, f64::INFINITY);

/// The largest `|x|` over the interval `(lo, hi)`.
fn largest((lo, hi): Interval) -> f64 {
    lo.abs().max(hi.abs())
}

/// The smallest `|x|` over the interval `(lo, hi)`: 0 when it holds 0.
fn smallest((lo, hi): Interval) -> f64 {
    if lo > 0.0 {
        lo
    } else if hi < 0.0 {
        -hi
    } else {
        0.0
    }
}

/// A number inside a formula, parenthesised when negative.
pub(crate) fn paren<T: Scalar>(c: T) -> String {
    if c < T::zero() {
        format!("({c})")
    } else {
        c.to_string()
    }
}

gather_tables!();

/// The sign of a partial that is ±1 and therefore not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sign {
    Plus,
    Minus,
}

/// Operand layout of a node on the tape. `parents` holds one `u32` per parent (plus the auxiliary
/// words noted here) and `partials` one scalar per parent whose partial is not ±1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// No parents.
    Leaf,
    /// One parent, partial ±1.
    UnitUnary(Sign),
    /// One parent with a stored partial.
    Unary,
    /// One parent with a stored partial, then one auxiliary word (the exponent of `powi`).
    UnaryAux,
    /// Two parents, partials `1` and `±1`.
    UnitBinary(Sign),
    /// Two parents with stored partials.
    Binary,
    /// `n` parents with partial 1, framed by the count `n` before and after them.
    UnitNary,
    /// `n` parents with stored partials, framed by the count `n` before and after them.
    Nary,
    /// A recorded comparison: this many words (its operands and the comparison code with its
    /// outcome), through which no gradient flows.
    Guard(u8),
}

/// The n-ary rule of `kind`, which the caller knows to be n-ary.
#[inline(always)]
const fn nary_of(kind: OpKind) -> nary::Nary {
    match nary::Nary::of(kind) {
        Some(op) => op,
        None => panic!("invariant: called with an n-ary kind"),
    }
}

/// `x^n` by repeated squaring, the algorithm of the runtime's `powi` (compiler-rt's
/// `__powidf2`), written out so that it gives the same bits wherever it runs.
///
/// The standard `powi` does not promise that: when `n` is known at compile time the optimizer
/// may expand it into a different sequence of multiplications, so `x.powi(3)` recorded in user
/// code and the same node replayed with `n` read from the tape could differ in the last bit.
#[inline]
pub(crate) fn powi<T: Scalar>(mut x: T, mut n: i32) -> T {
    let reciprocal = n < 0;
    let mut r = T::one();
    loop {
        if n & 1 != 0 {
            r *= x;
        }
        n /= 2;
        if n == 0 {
            break;
        }
        x *= x;
    }
    if reciprocal { T::one() / r } else { r }
}

/// `true` only for NaN, the one value not equal to itself.
#[inline(always)]
#[allow(clippy::eq_op)]
fn is_nan<T: Scalar>(x: T) -> bool {
    x != x
}

/// Logistic sigmoid, evaluated without overflow for large `|x|`.
#[inline(always)]
pub(crate) fn sigmoid<T: Scalar>(x: T) -> T {
    // `1 / (1 + e^(-x))` for `x ≥ 0`, `e^x / (1 + e^x)` below, with no branch on the sign, so
    // that a loop over inputs of either sign has no jump to mispredict: `e = e^(-|x|)` either
    // way, and the numerator is chosen by value. `-|-x|` is `-|x|`; written so, its derivative
    // at 0 through `Dual` (whose `abs` takes the left piece there) is the `-1` of `x ≥ 0`'s side.
    let one = T::one();
    let e = (-(-x).abs()).exp();
    let top = if x >= T::zero() { one } else { e };
    top / (one + e)
}

/// Records one node of every operation on `tape`, every function of the table included, and
/// returns the Vars of those that have one (comparisons record a node but give no Var): the
/// fixture of the tests that walk a tape of every shape.
#[cfg(test)]
pub(crate) fn record_every_operation(tape: &crate::Tape) -> Vec<crate::Var<'_>> {
    let x = tape.var(0.3f64);
    let y = tape.var(-1.7);
    let w = tape.vars(&[0.5, 2.0]);
    let c = tape.constant(4.0);
    let mut vars = vec![
        x,
        y,
        c,
        x - 2.0,
        3.0 - y,
        -x,
        2.0 * y,
        2.0 / y,
        y / 4.0,
        x.powi(3),
        tape.sum(&[x, y, x]),
        tape.dot(&w, &[x, y]),
        tape.dot(&[x, y, c], &[0.25, -3.0, 1.0]),
        tape.custom(7.0, &[(x, 1.0), (y, 2.0)]),
        x.detach(),
    ];
    // Every operation of two Vars of the table.
    for b in BINARIES {
        vars.push(x.binary(y, b.rule, b.kind.name()));
    }
    // Every function of the table, at an input inside its domain, its parameter if any 0.1.
    for f in FUNCTIONS {
        let at = if f.domain.0 >= 0.0 { x } else { y * 0.5 };
        vars.push(at.unary(Unary::from_record(f.kind, 0.1, 0.0, 0)));
    }
    let _ = x.lt(y);
    let _ = x.ge(0.5);
    vars
}

#[cfg(test)]
mod tests {
    use std::hint::black_box;

    use super::{Unary, powi, sigmoid};
    use crate::Scalar;

    #[test]
    fn sigmoid_gives_the_numbers_of_each_side_s_formula() {
        fn by_sign<T: Scalar>(x: T) -> T {
            let one = T::one();
            if x >= T::zero() {
                one / (one + (-x).exp())
            } else {
                let e = x.exp();
                e / (one + e)
            }
        }
        let mut xs = vec![
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            745.2,
            -745.2,
        ];
        xs.extend((-4000..=4000).map(|i| f64::from(i) * 0.0137));
        for x in xs {
            assert_eq!(sigmoid(x).to_bits(), by_sign(x).to_bits(), "at {x}");
            let x32 = x as f32;
            assert_eq!(sigmoid(x32).to_bits(), by_sign(x32).to_bits(), "at {x32}");
        }
        assert!(sigmoid(f64::NAN).is_nan());
    }

    #[test]
    fn unary_rules_are_equal_only_with_the_same_number() {
        assert_eq!(Unary::AddConst(1.0), Unary::AddConst(1.0));
        assert_ne!(Unary::MulConst(2.0), Unary::MulConst(3.0));
        assert_ne!(Unary::<f64>::Powi(2), Unary::Powi(3));
        assert_ne!(Unary::Powf(1.5), Unary::Powf(2.5));
        assert_ne!(Unary::AddConst(1.0), Unary::RSubConst(1.0));
        assert_eq!(Unary::<f64>::Exp, Unary::Exp);
        assert_ne!(Unary::<f64>::Exp, Unary::Ln);
    }

    #[test]
    fn unary_rules_print_their_number() {
        assert_eq!(format!("{:?}", Unary::<f64>::Powi(3)), "Powi(3)");
        assert_eq!(format!("{:?}", Unary::AddConst(2.0)), "AddConst(2.0)");
        assert_eq!(format!("{:?}", Unary::<f64>::Neg), "Neg");
        assert_eq!(format!("{:?}", Unary::<f64>::Exp), "Exp");
    }

    #[test]
    fn powi_gives_the_bits_of_the_runtime_powi() {
        let exponents = [-7, -2, -1, 0, 1, 2, 3, 5, 10, 31, i32::MIN, i32::MAX];
        let bases = [0.3, -1.7, 2.0, 1e-3, 0.0, -0.0, f64::INFINITY, 1.0 + 1e-9];
        for n in exponents {
            for x in bases {
                // `black_box` keeps the exponent unknown, so std calls the runtime routine.
                let want = x.powi(black_box(n));
                assert_eq!(powi(x, n).to_bits(), want.to_bits(), "{x}^{n}");
            }
        }
    }
}
