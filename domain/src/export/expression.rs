//! Switchyard expressions into TypeScript over the exported runtime
//! (`runtime/expressions.ts`, imported as `x`): paths stay strict, values
//! are formatted into text as Switchyard formats them, filters and tests
//! are the runtime's. A construct the runtime does not have makes the
//! translation fail with the construct named, never code that does
//! something else.

use minijinja::machinery::{
    ast::{BinOpKind, CallArg, CompareOpKind, Expr, Stmt, UnaryOpKind},
    parse, parse_expr,
};
use serde_json::Value;

/// A construct the export cannot translate.
#[derive(Clone, Debug, PartialEq)]
pub struct Unsupported(pub String);

type Result<T> = std::result::Result<T, Unsupported>;

fn refuse<T>(what: impl Into<String>) -> Result<T> {
    Err(Unsupported(what.into()))
}

/// Filters the runtime has, and tests.
const FILTERS: &[&str] = &[
    "lower",
    "upper",
    "trim",
    "title",
    "capitalize",
    "length",
    "first",
    "last",
    "reverse",
    "list",
    "join",
    "split",
    "replace",
    "string",
    "int",
    "float",
    "abs",
    "round",
    "sum",
    "min",
    "max",
    "unique",
    "sort",
    "items",
    "tojson",
    "format",
    "count",
];
const TESTS: &[&str] = &[
    "none",
    "number",
    "string",
    "boolean",
    "mapping",
    "sequence",
    "true",
    "false",
    "odd",
    "even",
    "divisibleby",
    "startingwith",
    "endingwith",
    "in",
];

/// A config value as a TypeScript expression of type `Json`, reading
/// `ctx` (`trigger`, `steps`, `item`, `index`, `execution`).
pub fn value(config: &Value) -> Result<String> {
    value_in(config, STEP_ROOTS)
}

/// What a step's expressions read.
const STEP_ROOTS: &[&str] = &["trigger", "steps", "item", "index", "execution"];

/// A value whose expressions read other variables, all below `ctx`
/// (an event trigger's filter reads `type`, `source` and `data`).
pub fn value_in(config: &Value, roots: &'static [&'static str]) -> Result<String> {
    let scope = Scope {
        locals: Vec::new(),
        roots,
    };
    Ok(match config {
        Value::String(text) if model::expr::contains_template(text) => {
            match model::expr::single_expression(text) {
                Some(inner) => {
                    let expr =
                        parse_expr(inner).map_err(|e| Unsupported(format!("`{inner}`: {e}")))?;
                    scope.expr(&expr)?.code
                }
                None => {
                    let stmt = parse(text, "<template>", Default::default())
                        .map_err(|e| Unsupported(e.to_string()))?;
                    scope.stmt(&stmt)?
                }
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|item| value_in(item, roots))
                .collect::<Result<Vec<_>>>()?
                .join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| Ok(format!(
                    "{}: {}",
                    serde_json::to_string(k).unwrap_or_default(),
                    value_in(v, roots)?
                )))
                .collect::<Result<Vec<_>>>()?
                .join(", ")
        ),
        other => other.to_string(),
    })
}

/// A translated expression; `float` when it is known to be a float, so
/// that text shows `2.0` as Switchyard does.
struct Out {
    code: String,
    float: bool,
}

fn out(code: String) -> Out {
    Out { code, float: false }
}

fn string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// Names bound by `{% for %}`, and the TypeScript names they have.
#[derive(Clone)]
struct Scope {
    locals: Vec<(String, String)>,
    roots: &'static [&'static str],
}

impl Scope {
    fn text(&self, expr: &Expr<'_>) -> Result<String> {
        let value = self.expr(expr)?;
        Ok(if value.float {
            format!("x.floatText({})", value.code)
        } else {
            format!("x.text({})", value.code)
        })
    }

    fn stmts(&self, body: &[Stmt<'_>]) -> Result<String> {
        let parts = body
            .iter()
            .map(|s| self.stmt(s))
            .collect::<Result<Vec<_>>>()?;
        Ok(match parts.len() {
            0 => "\"\"".into(),
            1 => parts.into_iter().next().unwrap_or_default(),
            _ => format!("[{}].join(\"\")", parts.join(", ")),
        })
    }

    fn stmt(&self, stmt: &Stmt<'_>) -> Result<String> {
        #[allow(unreachable_patterns)] // variants behind minijinja's optional features
        match stmt {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitRaw(raw) => Ok(string(raw.raw)),
            Stmt::EmitExpr(e) => self.text(&e.expr),
            Stmt::IfCond(i) => Ok(format!(
                "(x.truthy({}) ? {} : {})",
                self.expr(&i.expr)?.code,
                self.stmts(&i.true_body)?,
                self.stmts(&i.false_body)?
            )),
            Stmt::ForLoop(f) => {
                let Expr::Var(target) = &f.target else {
                    return refuse("a loop over several names at once");
                };
                if f.filter_expr.is_some() || f.recursive {
                    return refuse("a filtered or recursive `for`");
                }
                let name = format!("local_{}", target.id);
                let mut inner = self.clone();
                inner.locals.push((target.id.to_owned(), name.clone()));
                inner.locals.push(("loop".into(), "loop".into()));
                Ok(format!(
                    "x.each({}, ({name}, loop) => {}, () => {})",
                    self.expr(&f.iter)?.code,
                    inner.stmts(&f.body)?,
                    self.stmts(&f.else_body)?
                ))
            }
            _ => refuse("a template statement other than `if` and `for`"),
        }
    }

    /// How the base of a path is written in error messages.
    fn path(expr: &Expr<'_>) -> String {
        match expr {
            Expr::Var(v) => v.id.to_owned(),
            Expr::GetAttr(g) => format!("{}.{}", Self::path(&g.expr), g.name),
            Expr::GetItem(g) => format!("{}[…]", Self::path(&g.expr)),
            _ => "(value)".into(),
        }
    }

    fn args(&self, args: &[CallArg<'_>]) -> Result<Vec<String>> {
        args.iter()
            .map(|arg| match arg {
                CallArg::Pos(e) => Ok(self.expr(e)?.code),
                _ => refuse("named or spread arguments"),
            })
            .collect()
    }

    fn expr(&self, expr: &Expr<'_>) -> Result<Out> {
        Ok(match expr {
            Expr::Var(v) => match self.locals.iter().rev().find(|(name, _)| name == v.id) {
                Some((_, local)) => out(local.clone()),
                None if self.roots.contains(&v.id) => out(format!("ctx.{}", v.id)),
                None => return refuse(format!("the variable `{}`", v.id)),
            },
            Expr::Const(c) => {
                let json =
                    serde_json::to_value(&c.value).map_err(|e| Unsupported(e.to_string()))?;
                Out {
                    float: json.as_f64().is_some() && json.is_f64(),
                    code: json.to_string(),
                }
            }
            Expr::GetAttr(g) => out(format!(
                "x.attr({}, {}, {})",
                self.expr(&g.expr)?.code,
                string(g.name),
                string(&Self::path(&g.expr))
            )),
            Expr::GetItem(g) => out(format!(
                "x.item({}, {}, {})",
                self.expr(&g.expr)?.code,
                self.expr(&g.subscript_expr)?.code,
                string(&Self::path(&g.expr))
            )),
            Expr::Slice(s) => {
                let part = |e: &Option<Expr<'_>>| -> Result<String> {
                    Ok(match e {
                        Some(e) => self.expr(e)?.code,
                        None => "null".into(),
                    })
                };
                out(format!(
                    "x.slice({}, {}, {}, {})",
                    self.expr(&s.expr)?.code,
                    part(&s.start)?,
                    part(&s.stop)?,
                    part(&s.step)?
                ))
            }
            Expr::UnaryOp(u) => {
                let value = self.expr(&u.expr)?;
                match u.op {
                    UnaryOpKind::Not => out(format!("!x.truthy({})", value.code)),
                    UnaryOpKind::Neg => Out {
                        code: format!("x.neg({})", value.code),
                        float: value.float,
                    },
                }
            }
            Expr::BinOp(b) => self.binary(&b.op, &b.left, &b.right)?,
            Expr::Compare(c) => {
                let [op] = c.ops.as_slice() else {
                    return refuse("a chained comparison");
                };
                let (left, right) = (self.expr(&c.expr)?.code, self.expr(&op.expr)?.code);
                out(match op.op {
                    CompareOpKind::Eq => format!("x.eq({left}, {right})"),
                    CompareOpKind::Ne => format!("!x.eq({left}, {right})"),
                    CompareOpKind::Lt => format!("x.cmp({left}, {right}, \"<\")"),
                    CompareOpKind::Lte => format!("x.cmp({left}, {right}, \"<=\")"),
                    CompareOpKind::Gt => format!("x.cmp({left}, {right}, \">\")"),
                    CompareOpKind::Gte => format!("x.cmp({left}, {right}, \">=\")"),
                    CompareOpKind::In => format!("x.contains({right}, {left})"),
                    CompareOpKind::NotIn => format!("!x.contains({right}, {left})"),
                })
            }
            Expr::IfExpr(i) => {
                let yes = self.expr(&i.true_expr)?;
                let no = match &i.false_expr {
                    Some(e) => self.expr(e)?,
                    None => return refuse("`if` without `else` in an expression"),
                };
                Out {
                    code: format!(
                        "(x.truthy({}) ? {} : {})",
                        self.expr(&i.test_expr)?.code,
                        yes.code,
                        no.code
                    ),
                    float: yes.float && no.float,
                }
            }
            Expr::Filter(f) => self.filter(f.name, f.expr.as_ref(), &f.args)?,
            Expr::Test(t) => {
                let args = self.args(&t.args)?;
                match t.name {
                    "defined" => out(format!(
                        "(x.defined(() => {}) !== undefined)",
                        self.expr(&t.expr)?.code
                    )),
                    "undefined" => out(format!(
                        "(x.defined(() => {}) === undefined)",
                        self.expr(&t.expr)?.code
                    )),
                    name if TESTS.contains(&name) => out(format!(
                        "x.tests[{}]({})",
                        string(name),
                        std::iter::once(self.expr(&t.expr)?.code)
                            .chain(args)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    other => return refuse(format!("the test `is {other}`")),
                }
            }
            Expr::Call(c) => match &c.expr {
                Expr::Var(v) if v.id == "range" => {
                    out(format!("x.range({})", self.args(&c.args)?.join(", ")))
                }
                _ => return refuse("a function or method call"),
            },
            Expr::List(l) => out(format!(
                "[{}]",
                l.items
                    .iter()
                    .map(|e| self.expr(e).map(|o| o.code))
                    .collect::<Result<Vec<_>>>()?
                    .join(", ")
            )),
            Expr::Tuple(t) => out(format!(
                "[{}]",
                t.items
                    .iter()
                    .map(|e| self.expr(e).map(|o| o.code))
                    .collect::<Result<Vec<_>>>()?
                    .join(", ")
            )),
            Expr::Map(m) => {
                let entries = m
                    .keys
                    .iter()
                    .zip(&m.values)
                    .map(|(k, v)| Ok(format!("[{}, {}]", self.expr(k)?.code, self.expr(v)?.code)))
                    .collect::<Result<Vec<_>>>()?;
                out(format!("x.map([{}])", entries.join(", ")))
            }
        })
    }

    fn binary(&self, op: &BinOpKind, left: &Expr<'_>, right: &Expr<'_>) -> Result<Out> {
        let (l, r) = (self.expr(left)?, self.expr(right)?);
        let (a, b) = (&l.code, &r.code);
        let either_float = l.float || r.float;
        Ok(match op {
            BinOpKind::Eq => out(format!("x.eq({a}, {b})")),
            BinOpKind::Ne => out(format!("!x.eq({a}, {b})")),
            BinOpKind::Lt => out(format!("x.cmp({a}, {b}, \"<\")")),
            BinOpKind::Lte => out(format!("x.cmp({a}, {b}, \"<=\")")),
            BinOpKind::Gt => out(format!("x.cmp({a}, {b}, \">\")")),
            BinOpKind::Gte => out(format!("x.cmp({a}, {b}, \">=\")")),
            BinOpKind::In => out(format!("x.contains({b}, {a})")),
            BinOpKind::ScAnd => out(format!("x.and({a}, () => {b})")),
            BinOpKind::ScOr => out(format!("x.or({a}, () => {b})")),
            BinOpKind::Add => Out {
                code: format!("x.add({a}, {b})"),
                float: either_float,
            },
            BinOpKind::Sub => Out {
                code: format!("x.sub({a}, {b})"),
                float: either_float,
            },
            BinOpKind::Mul => Out {
                code: format!("x.mul({a}, {b})"),
                float: either_float,
            },
            BinOpKind::Div => Out {
                code: format!("x.div({a}, {b})"),
                float: true,
            },
            BinOpKind::FloorDiv => out(format!("x.floorDiv({a}, {b})")),
            BinOpKind::Rem => Out {
                code: format!("x.rem({a}, {b})"),
                float: either_float,
            },
            BinOpKind::Pow => Out {
                code: format!("x.pow({a}, {b})"),
                float: either_float,
            },
            BinOpKind::Concat => out(format!("x.concat({a}, {b})")),
        })
    }

    fn filter(&self, name: &str, value: Option<&Expr<'_>>, args: &[CallArg<'_>]) -> Result<Out> {
        let Some(value) = value else {
            return refuse(format!("the filter block `{name}`"));
        };
        if !matches!(name, "default" | "d") && !FILTERS.contains(&name) {
            return refuse(format!("the filter `{name}`"));
        }
        let args = self.args(args)?;
        let v = self.expr(value)?;
        Ok(match name {
            "default" | "d" => {
                let mut call = vec![format!("() => {}", v.code)];
                call.extend(args);
                out(format!("x.orDefault({})", call.join(", ")))
            }
            "float" => Out {
                code: format!("x.filters.float({})", v.code),
                float: true,
            },
            "round" => Out {
                code: format!(
                    "x.filters.round({})",
                    std::iter::once(v.code)
                        .chain(args)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                float: true,
            },
            "count" => out(format!("x.filters.length({})", v.code)),
            name if FILTERS.contains(&name) => out(format!(
                "x.filters[{}]({})",
                string(name),
                std::iter::once(v.code)
                    .chain(args)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            other => return refuse(format!("the filter `{other}`")),
        })
    }
}
