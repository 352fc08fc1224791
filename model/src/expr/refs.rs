//! Which steps an expression reads, found by walking its syntax tree:
//! `steps.fetch`, `steps['fetch']`, however deep inside filters,
//! parentheses and slices. (minijinja's own list of undeclared variables
//! misses some of these shapes, and a step left out of a run's context
//! reads as undefined at run time.) Reading `steps` by a computed name
//! (`steps[item.node]`) cannot be resolved before the run: it is reported
//! as reading any step.

use std::collections::BTreeSet;

use minijinja::machinery::{
    ast::{CallArg, Expr, Stmt},
    parse, parse_expr,
};

/// The steps a text's expressions read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepReads {
    /// Ids read by name.
    pub ids: BTreeSet<String>,
    /// Some expression reads a step whose id is computed at run time.
    pub any: bool,
}

/// The steps `text` reads: a single expression (`expression` is true) or
/// text with templates. Text that does not parse reads nothing (the
/// syntax check reports it).
pub fn step_reads(text: &str, expression: Option<&str>) -> StepReads {
    let mut reads = StepReads::default();
    match expression {
        Some(inner) => {
            if let Ok(expr) = parse_expr(inner) {
                reads.expr(&expr);
            }
        }
        None => {
            if let Ok(stmt) = parse(text, "<template>", Default::default()) {
                reads.stmt(&stmt);
            }
        }
    }
    reads
}

impl StepReads {
    fn stmts(&mut self, body: &[Stmt<'_>]) {
        for stmt in body {
            self.stmt(stmt);
        }
    }

    fn stmt(&mut self, stmt: &Stmt<'_>) {
        #[allow(unreachable_patterns)] // variants behind minijinja's optional features
        match stmt {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => self.expr(&e.expr),
            Stmt::EmitRaw(_) => {}
            Stmt::ForLoop(f) => {
                self.expr(&f.iter);
                if let Some(filter) = &f.filter_expr {
                    self.expr(filter);
                }
                self.stmts(&f.body);
                self.stmts(&f.else_body);
            }
            Stmt::IfCond(i) => {
                self.expr(&i.expr);
                self.stmts(&i.true_body);
                self.stmts(&i.false_body);
            }
            Stmt::WithBlock(w) => {
                for (_, value) in &w.assignments {
                    self.expr(value);
                }
                self.stmts(&w.body);
            }
            Stmt::Set(s) => self.expr(&s.expr),
            Stmt::SetBlock(s) => {
                if let Some(filter) = &s.filter {
                    self.expr(filter);
                }
                self.stmts(&s.body);
            }
            Stmt::AutoEscape(a) => self.stmts(&a.body),
            Stmt::FilterBlock(f) => {
                self.expr(&f.filter);
                self.stmts(&f.body);
            }
            Stmt::Do(d) => {
                self.expr(&d.call.expr);
                self.args(&d.call.args);
            }
            // Anything else may read anything.
            _ => self.any = true,
        }
    }

    fn args(&mut self, args: &[CallArg<'_>]) {
        for arg in args {
            match arg {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => self.expr(e),
            }
        }
    }

    fn expr(&mut self, expr: &Expr<'_>) {
        match expr {
            Expr::Var(v) => {
                if v.id == "steps" {
                    self.any = true;
                }
            }
            Expr::Const(_) => {}
            Expr::GetAttr(g) => match &g.expr {
                Expr::Var(v) if v.id == "steps" => {
                    self.ids.insert(g.name.to_owned());
                }
                inner => self.expr(inner),
            },
            Expr::GetItem(g) => match (&g.expr, &g.subscript_expr) {
                (Expr::Var(v), Expr::Const(key)) if v.id == "steps" => match key.value.as_str() {
                    Some(id) => {
                        self.ids.insert(id.to_owned());
                    }
                    None => self.any = true,
                },
                (inner, subscript) => {
                    self.expr(inner);
                    self.expr(subscript);
                }
            },
            Expr::Slice(s) => {
                self.expr(&s.expr);
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(part);
                }
            }
            Expr::UnaryOp(u) => self.expr(&u.expr),
            Expr::BinOp(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
            }
            Expr::Compare(c) => {
                self.expr(&c.expr);
                for op in &c.ops {
                    self.expr(&op.expr);
                }
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                self.expr(&i.true_expr);
                if let Some(otherwise) = &i.false_expr {
                    self.expr(otherwise);
                }
            }
            Expr::Filter(f) => {
                if let Some(value) = &f.expr {
                    self.expr(value);
                }
                self.args(&f.args);
            }
            Expr::Test(t) => {
                self.expr(&t.expr);
                self.args(&t.args);
            }
            Expr::Call(c) => {
                self.expr(&c.expr);
                self.args(&c.args);
            }
            Expr::List(l) => l.items.iter().for_each(|e| self.expr(e)),
            Expr::Tuple(t) => t.items.iter().for_each(|e| self.expr(e)),
            Expr::Map(m) => {
                m.keys.iter().for_each(|e| self.expr(e));
                m.values.iter().for_each(|e| self.expr(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(text: &str) -> (Vec<String>, bool) {
        let reads = step_reads(text, crate::expr::single_expression(text));
        (reads.ids.into_iter().collect(), reads.any)
    }

    #[test]
    fn steps_are_found_in_every_shape() {
        for (text, id) in [
            (
                "{{ (steps.list.output['items'] | reverse | list)[:5] }}",
                "list",
            ),
            ("{{ steps['list'].output }}", "list"),
            ("{{ steps.list['output'].items | length }}", "list"),
            ("{{ x | default(steps.list.output) }}", "list"),
            ("{{ [1, steps.list.output][1] }}", "list"),
            ("{{ {'a': steps.list.output}.a }}", "list"),
            ("{{ 'y' if steps.list.output else 'n' }}", "list"),
            ("Hi {{ steps.list.output.name }}!", "list"),
            ("{% if steps.list.status == 'failed' %}x{% endif %}", "list"),
            (
                "{% for i in steps.list.output %}{{ i }}{% endfor %}",
                "list",
            ),
            ("{{ steps.list.output is defined }}", "list"),
        ] {
            assert_eq!(reads(text), (vec![id.to_owned()], false), "{text}");
        }
    }

    #[test]
    fn computed_names_read_any_step() {
        assert_eq!(reads("{{ steps[item.node].output }}"), (vec![], true));
        assert_eq!(reads("{{ steps | length }}"), (vec![], true));
        assert_eq!(reads("{{ trigger.body.steps }}"), (vec![], false));
        assert_eq!(
            reads("{{ steps.a.output ~ steps.b.output }}"),
            (vec!["a".to_owned(), "b".to_owned()], false)
        );
    }
}
