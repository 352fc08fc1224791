//! A small builder for hand-written SQL that runs on both backends: it
//! writes `$1, $2, …` for Postgres and `?` for SQLite.

use sea_orm::{DbBackend, Statement, Value};

pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
    /// Rough size of the bound values, to keep statements small.
    value_bytes: usize,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Sql {
        Sql {
            backend,
            text: String::with_capacity(256),
            values: Vec::new(),
            value_bytes: 0,
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Sql {
        let value = value.into();
        self.value_bytes += match &value {
            Value::String(Some(text)) => text.len(),
            _ => 16,
        };
        self.values.push(value);
        match self.backend {
            DbBackend::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.values.len().to_string());
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// Appends a placeholder for a JSON value, sent as text (serialised once,
    /// and counted in the statement's size).
    pub fn bind_json(&mut self, value: Option<&serde_json::Value>) -> &mut Sql {
        let text = value.map(|v| serde_json::to_string(v).unwrap_or_else(|_| "null".into()));
        if self.backend == DbBackend::Postgres {
            self.text.push_str("CAST(");
            self.bind(text);
            self.text.push_str(" AS jsonb)");
        } else {
            self.bind(text);
        }
        self
    }

    /// Approximate size of the statement and its values in bytes.
    pub fn size(&self) -> usize {
        self.text.len() + self.value_bytes
    }

    /// Appends `(v1, v2, …)` rows separated by commas, one per item.
    pub fn rows<T>(&mut self, items: &[T], mut row: impl FnMut(&mut Sql, &T)) -> &mut Sql {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.text.push('(');
            row(self, item);
            self.text.push(')');
        }
        self
    }

    /// Appends a comma-separated list of placeholders.
    pub fn list<T: Clone + Into<Value>>(&mut self, items: &[T]) -> &mut Sql {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(item.clone());
        }
        self
    }

    pub fn is_postgres(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

/// `items` as JSON arrays of `row`s, each with at least one row and at
/// most `max_rows`, closed once it reaches about `max_bytes`. Rows sent as
/// one parameter keep a statement's text the same whatever it holds, so
/// the driver prepares it once per connection; a text that grew with its
/// rows was prepared anew, and pushed another out of the driver's cache,
/// nearly every time.
pub fn json_slices<T>(
    items: &[T],
    max_bytes: usize,
    max_rows: usize,
    row: impl Fn(&T) -> serde_json::Value,
) -> Vec<String> {
    let mut slices = Vec::new();
    let mut array = String::new();
    let mut taken = 0;
    for item in items {
        if taken > 0 && (taken >= max_rows || array.len() >= max_bytes) {
            array.push(']');
            slices.push(std::mem::take(&mut array));
            taken = 0;
        }
        array.push(if taken == 0 { '[' } else { ',' });
        array.push_str(&row(item).to_string());
        taken += 1;
    }
    if taken > 0 {
        array.push(']');
        slices.push(array);
    }
    slices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let mut pg = Sql::new(DbBackend::Postgres);
        pg.push("SELECT ")
            .bind(1i64)
            .push(", ")
            .rows(&[2i64, 3], |s, v| {
                s.bind(*v);
            });
        assert_eq!(pg.build().sql, "SELECT $1, ($2), ($3)");
        let mut lite = Sql::new(DbBackend::Sqlite);
        lite.push("IN (").list(&[1i64, 2]).push(")");
        assert_eq!(lite.build().sql, "IN (?, ?)");
    }

    #[test]
    fn json_slices_hold_at_least_one_row_and_stop_at_either_limit() {
        let numbers = [1, 2, 3, 4, 5];
        let row = |n: &i32| serde_json::json!({ "n": n });
        assert_eq!(
            json_slices(&numbers, 1_000, 2, row),
            [
                r#"[{"n":1},{"n":2}]"#,
                r#"[{"n":3},{"n":4}]"#,
                r#"[{"n":5}]"#
            ]
        );
        assert_eq!(
            json_slices(&numbers[..2], 1, 10, row),
            [r#"[{"n":1}]"#, r#"[{"n":2}]"#]
        );
        assert_eq!(json_slices(&numbers[4..], 1_000, 10, row), [r#"[{"n":5}]"#]);
        assert!(json_slices(&numbers[..0], 1_000, 10, row).is_empty());
    }
}
