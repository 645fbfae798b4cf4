//! Integer converters: HAProxy's arithmetic saturates at the limits of a
//! signed 64-bit integer instead of wrapping, and a division by zero
//! gives the largest integer (`mod`: zero).

use super::args::{Operand, VarLookup};
use crate::value::{SampleType, Value};

/// An integer converter and its operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arith {
    Add(Operand<i64>),
    Sub(Operand<i64>),
    Mul(Operand<i64>),
    Div(Operand<i64>),
    Mod(Operand<i64>),
    And(Operand<i64>),
    Or(Operand<i64>),
    Xor(Operand<i64>),
    /// `neg`: the opposite.
    Neg,
    /// `cpl`: the bitwise complement.
    Cpl,
    /// `not`: true for zero.
    Not,
    /// `bool`: true for non-zero.
    Bool,
    /// `even`: true for an even integer.
    Even,
    /// `odd`: true for an odd integer.
    Odd,
}

impl Arith {
    /// The converter called `name`, or `None` when it is not of this family.
    pub fn parse(name: &str, args: &[String]) -> Option<Result<Arith, String>> {
        let operand = |make: fn(Operand<i64>) -> Arith| {
            let arg = args.first().filter(|a| !a.is_empty());
            Some(match arg {
                Some(a) => Operand::int(a).map(make),
                None => Err("missing argument: an integer or a variable".to_owned()),
            })
        };
        let plain = |c: Arith| {
            Some(if args.iter().any(|a| !a.is_empty()) {
                Err(format!("converter '{name}' does not support any args"))
            } else {
                Ok(c)
            })
        };
        match name {
            "add" => operand(Arith::Add),
            "sub" => operand(Arith::Sub),
            "mul" => operand(Arith::Mul),
            "div" => operand(Arith::Div),
            "mod" => operand(Arith::Mod),
            "and" => operand(Arith::And),
            "or" => operand(Arith::Or),
            "xor" => operand(Arith::Xor),
            "neg" => plain(Arith::Neg),
            "cpl" => plain(Arith::Cpl),
            "not" => plain(Arith::Not),
            "bool" => plain(Arith::Bool),
            "even" => plain(Arith::Even),
            "odd" => plain(Arith::Odd),
            _ => None,
        }
    }

    /// (input, output) types.
    pub fn types(&self) -> (SampleType, SampleType) {
        match self {
            Arith::Not | Arith::Bool | Arith::Even | Arith::Odd => {
                (SampleType::Sint, SampleType::Bool)
            }
            _ => (SampleType::Sint, SampleType::Sint),
        }
    }

    /// The variable the operand names, if any.
    pub fn variables(&self) -> Vec<&str> {
        self.operand()
            .and_then(Operand::var_name)
            .into_iter()
            .collect()
    }

    fn operand(&self) -> Option<&Operand<i64>> {
        match self {
            Arith::Add(o)
            | Arith::Sub(o)
            | Arith::Mul(o)
            | Arith::Div(o)
            | Arith::Mod(o)
            | Arith::And(o)
            | Arith::Or(o)
            | Arith::Xor(o) => Some(o),
            _ => None,
        }
    }

    /// The converter applied to an integer sample.
    pub fn apply<'r>(&self, value: Value<'r>, vars: &dyn VarLookup) -> Option<Value<'r>> {
        let Value::Int(n) = value else { return None };
        let b = match self.operand() {
            Some(o) => o.get(vars)?,
            None => 0,
        };
        Some(match self {
            Arith::Add(_) => Value::Int(n.saturating_add(b)),
            Arith::Sub(_) => Value::Int(n.saturating_sub(b)),
            Arith::Mul(_) => Value::Int(n.saturating_mul(b)),
            Arith::Div(_) => Value::Int(if b == 0 {
                i64::MAX
            } else {
                n.saturating_div(b)
            }),
            Arith::Mod(_) => Value::Int(n.checked_rem(b).unwrap_or(0)),
            Arith::And(_) => Value::Int(n & b),
            Arith::Or(_) => Value::Int(n | b),
            Arith::Xor(_) => Value::Int(n ^ b),
            Arith::Neg => Value::Int(n.saturating_neg()),
            Arith::Cpl => Value::Int(!n),
            Arith::Not => Value::Bool(n == 0),
            Arith::Bool => Value::Bool(n != 0),
            Arith::Even => Value::Bool(n & 1 == 0),
            Arith::Odd => Value::Bool(n & 1 == 1),
        })
    }
}
