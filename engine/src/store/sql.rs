//! A small builder for hand-written SQL that runs on both backends: it
//! writes `$1, $2, …` for Postgres and `?` for SQLite.

use sea_orm::{DbBackend, Statement, Value};

pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Sql {
        Sql {
            backend,
            text: String::with_capacity(256),
            values: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Sql {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.values.len().to_string());
            }
            _ => self.text.push('?'),
        }
        self
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
}
