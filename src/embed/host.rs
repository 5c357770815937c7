//! Host functions: Rust closures with typed arguments, callable from Vela.

use super::dynamic::{Dynamic, FromDynamic};
use std::fmt::Display;

/// What a host function may return: any value that converts into a [`Dynamic`],
/// or a `Result` of one whose `Err` becomes a Vela runtime error (with the error's
/// `Display` text as its message, catchable by `try`).
pub trait HostReturn {
    /// The value, or the message of the runtime error to raise.
    fn into_result(self) -> Result<Dynamic, String>;
}

impl<T: Into<Dynamic>> HostReturn for T {
    fn into_result(self) -> Result<Dynamic, String> {
        Ok(self.into())
    }
}

impl<T: Into<Dynamic>, E: Display> HostReturn for Result<T, E> {
    fn into_result(self) -> Result<Dynamic, String> {
        self.map(Into::into).map_err(|e| e.to_string())
    }
}

/// A Rust closure that can be registered with [`Vm::register_fn`](crate::Vm::register_fn):
/// implemented for `Fn(A1, ..., An) -> R` with 0 to 6 arguments, where every
/// argument type is [`FromDynamic`] and `R` is [`HostReturn`]. `Args` is the tuple
/// of argument types; it only serves to tell the implementations apart.
///
/// Arguments are converted from owned values, so a text argument is a `String`
/// (not `&str`), a list a `Vec<T>`, and so on; take a [`Dynamic`] to accept any
/// value.
pub trait HostFunction<Args>: 'static {
    /// The number of arguments.
    const ARITY: u8;

    /// Converts the arguments and calls the closure. `name` is used in the
    /// messages of argument errors (`add: argument 2 expects Int, got String`).
    fn invoke(&self, name: &str, args: Vec<Dynamic>) -> Result<Dynamic, String>;
}

macro_rules! host_function {
    ($n:expr; $($arg:ident $pos:expr),*) => {
        impl<F, R, $($arg,)*> HostFunction<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> R + 'static,
            R: HostReturn,
            $($arg: FromDynamic,)*
        {
            const ARITY: u8 = $n;

            #[allow(unused_variables, unused_mut, non_snake_case)]
            fn invoke(&self, name: &str, args: Vec<Dynamic>) -> Result<Dynamic, String> {
                let mut args = args.into_iter();
                $(
                    let $arg = $arg::from_dynamic(args.next().unwrap_or_default())
                        .map_err(|e| format!("{name}: argument {} {}", $pos, e.expects()))?;
                )*
                (self)($($arg),*).into_result()
            }
        }
    };
}

host_function!(0;);
host_function!(1; A1 1);
host_function!(2; A1 1, A2 2);
host_function!(3; A1 1, A2 2, A3 3);
host_function!(4; A1 1, A2 2, A3 3, A4 4);
host_function!(5; A1 1, A2 2, A3 3, A4 4, A5 5);
host_function!(6; A1 1, A2 2, A3 3, A4 4, A5 5, A6 6);

/// Arguments for [`Vm::call`](crate::Vm::call) and
/// [`Vm::call_function`](crate::Vm::call_function): a tuple of up to 6 values
/// that convert into [`Dynamic`] (`()` for none), or a slice, array or `Vec` of
/// `Dynamic`s.
///
/// ```
/// let mut vm = vela::Vm::new();
/// vm.eval(r#"fn greet(name, n) { return "hi ${name} x${n}" }"#).unwrap();
/// assert_eq!(vm.call("greet", ("Ann", 2)).unwrap().to_string(), "hi Ann x2");
/// assert_eq!(vm.call("greet", &["Bo".into(), 3.into()]).unwrap().to_string(), "hi Bo x3");
/// ```
pub trait IntoArgs {
    /// The arguments as values.
    fn into_args(self) -> Vec<Dynamic>;
}

impl IntoArgs for Vec<Dynamic> {
    fn into_args(self) -> Vec<Dynamic> {
        self
    }
}

impl IntoArgs for &[Dynamic] {
    fn into_args(self) -> Vec<Dynamic> {
        self.to_vec()
    }
}

impl<const N: usize> IntoArgs for &[Dynamic; N] {
    fn into_args(self) -> Vec<Dynamic> {
        self.to_vec()
    }
}

impl<const N: usize> IntoArgs for [Dynamic; N] {
    fn into_args(self) -> Vec<Dynamic> {
        self.into()
    }
}

macro_rules! tuple_args {
    ($($arg:ident),*) => {
        impl<$($arg: Into<Dynamic>),*> IntoArgs for ($($arg,)*) {
            #[allow(non_snake_case)]
            fn into_args(self) -> Vec<Dynamic> {
                let ($($arg,)*) = self;
                vec![$($arg.into()),*]
            }
        }
    };
}

tuple_args!();
tuple_args!(A1);
tuple_args!(A1, A2);
tuple_args!(A1, A2, A3);
tuple_args!(A1, A2, A3, A4);
tuple_args!(A1, A2, A3, A4, A5);
tuple_args!(A1, A2, A3, A4, A5, A6);
