//! The writes of one transaction sent to the database in one call instead of one each.
//!
//! Every statement costs a round trip: on SQLite a hand-off to sqlx's worker thread and
//! back (two thread wake-ups, with the single writer connection held in between), on
//! PostgreSQL a network round trip. A transaction of thirty writes (the erasure) spent
//! most of its time on those. A [`Batch`] joins its writes into one text: on SQLite the
//! statements one after another (sqlx runs them all in one call and binds `$n` by number
//! across them), on PostgreSQL one statement of data-modifying `WITH` queries (each runs
//! exactly once, to completion, whether or not the main query reads it). Each write keeps
//! its own `$1..$n`; the batch shifts them past the values of the writes before it.

use crate::Backend;
use std::borrow::Cow;

/// One bound value of a [`Write`].
pub(crate) enum Arg<'a> {
    Text(Cow<'a, str>),
    /// A text value or NULL.
    OptText(Option<Cow<'a, str>>),
    Int(i64),
}

pub(crate) fn text(value: &str) -> Arg<'_> {
    Arg::Text(Cow::Borrowed(value))
}

/// One statement with its values, numbered `$1..$n` in its own text.
pub(crate) struct Write<'a> {
    pub(crate) sql: Cow<'static, str>,
    pub(crate) args: Vec<Arg<'a>>,
}

impl<'a> Write<'a> {
    pub(crate) fn new(sql: impl Into<Cow<'static, str>>, args: Vec<Arg<'a>>) -> Self {
        Write {
            sql: sql.into(),
            args,
        }
    }
}

/// Several writes as one statement text, with every value in order.
pub(crate) struct Batch<'w, 'a> {
    sql: String,
    writes: &'w [Write<'a>],
}

impl<'w, 'a> Batch<'w, 'a> {
    /// The writes for `backend`; on PostgreSQL `select` is the main query (what the
    /// statement answers), on SQLite it is not used.
    pub(crate) fn new(backend: Backend, writes: &'w [Write<'a>], select: &str) -> Self {
        let mut shift = 0;
        let parts: Vec<String> = writes
            .iter()
            .map(|w| {
                let part = shifted(&w.sql, shift);
                shift += w.args.len();
                part
            })
            .collect();
        let sql = match backend {
            Backend::Sqlite => parts.join(";\n"),
            Backend::Postgres => {
                let ctes: Vec<String> = parts
                    .iter()
                    .enumerate()
                    .map(|(i, part)| format!("w{i} AS ({part})"))
                    .collect();
                format!("WITH {} {select}", ctes.join(",\n"))
            }
        };
        Batch { sql, writes }
    }

    /// The statement with every write's values bound, for whichever backend runs it.
    pub(crate) fn query<'q, DB: sqlx::Database>(
        &'q self,
    ) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
    where
        &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<&'q str>: sqlx::Encode<'q, DB>,
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        let mut query = sqlx::query(&self.sql);
        for arg in self.writes.iter().flat_map(|w| &w.args) {
            query = match arg {
                Arg::Text(value) => query.bind(value.as_ref()),
                Arg::OptText(value) => query.bind(value.as_deref()),
                Arg::Int(value) => query.bind(*value),
            };
        }
        query
    }
}

/// `sql` with every placeholder `$n` written `$(n + shift)`. Our statements have no `$`
/// anywhere but in placeholders (no dollar quoting, no `$` in a literal).
fn shifted(sql: &str, shift: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&(n + shift).to_string()),
            Err(_) => out.push_str(&digits),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_shifted_past_the_writes_before() {
        assert_eq!(
            shifted("UPDATE t SET a = $1, b = $2 WHERE c = $1", 3),
            "UPDATE t SET a = $4, b = $5 WHERE c = $4"
        );
        assert_eq!(
            shifted("SELECT 'x' WHERE $10 = 1", 0),
            "SELECT 'x' WHERE $10 = 1"
        );
    }

    #[test]
    fn joins_for_each_backend_with_the_values_in_order() {
        let writes = vec![
            Write::new("DELETE FROM a WHERE id = $1", vec![text("x")]),
            Write::new(
                "INSERT INTO b (id, at) VALUES ($1, $2)",
                vec![text("y"), Arg::Int(7)],
            ),
        ];
        let sqlite = Batch::new(Backend::Sqlite, &writes, "SELECT 1");
        assert_eq!(
            sqlite.sql,
            "DELETE FROM a WHERE id = $1;\nINSERT INTO b (id, at) VALUES ($2, $3)"
        );
        let postgres = Batch::new(Backend::Postgres, &writes, "SELECT 1");
        assert_eq!(
            postgres.sql,
            "WITH w0 AS (DELETE FROM a WHERE id = $1),\nw1 AS (INSERT INTO b (id, at) VALUES ($2, $3)) SELECT 1"
        );
    }
}
