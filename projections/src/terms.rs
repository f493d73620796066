//! Reads that do not scan a view (ADR 0033): documents found by the terms
//! kept beside them, in key order a page at a time, and the counts a view
//! keeps as it applies the log.

use jejak_engine::store::StoreError;
use sqlx::Row as _;

use crate::db::Db;

/// A read of the documents holding every one of some terms.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Find<'a> {
    pub view: &'a str,
    pub generation: i64,
    /// `(name, value)`: the first leads (the read walks its documents in
    /// key order and checks the others on each), so the caller puts the
    /// one held by the fewest documents first. None: every document.
    pub terms: &'a [(&'a str, &'a str)],
    /// Only keys after this one.
    pub after: &'a str,
    pub limit: usize,
}

impl Db {
    /// Up to `limit` documents after `after` holding every term, in key
    /// order: the cost is the documents of the leading term walked until
    /// the page is full, never the view.
    pub(crate) async fn find(&self, find: Find<'_>) -> Result<Vec<(String, String)>, StoreError> {
        let Some(((lead_name, lead_value), rest)) = find.terms.split_first() else {
            return self
                .scan_after(find.view, find.generation, find.after, find.limit)
                .await;
        };
        let limit = i64::try_from(find.limit).unwrap_or(i64::MAX);
        macro_rules! find {
            ($db:ty, $pool:expr, $docs:literal) => {{
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "SELECT t.key, d.doc FROM (SELECT t0.key FROM view_terms t0 WHERE t0.view = ",
                );
                q.push_bind(find.view)
                    .push(" AND t0.generation = ")
                    .push_bind(find.generation)
                    .push(" AND t0.name = ")
                    .push_bind(*lead_name)
                    .push(" AND t0.value = ")
                    .push_bind(*lead_value)
                    .push(" AND t0.key > ")
                    .push_bind(find.after);
                for (name, value) in rest {
                    q.push(" AND EXISTS (SELECT 1 FROM view_terms u WHERE u.view = t0.view AND u.generation = t0.generation AND u.name = ")
                        .push_bind(*name)
                        .push(" AND u.value = ")
                        .push_bind(*value)
                        .push(" AND u.key = t0.key)");
                }
                q.push(" ORDER BY t0.key LIMIT ")
                    .push_bind(limit)
                    .push(") AS t ")
                    .push($docs)
                    .push_bind(find.view)
                    .push(" AND d.generation = ")
                    .push_bind(find.generation)
                    .push(" AND d.key = t.key");
                // The documents are looked up key by key on their primary
                // key, whatever the statistics say (ADR 0009).
                if matches!(self, Self::Postgres(_)) {
                    q.push(" OFFSET 0) AS d");
                }
                q.push(" ORDER BY t.key");
                q.build()
                    .persistent(false)
                    .fetch_all($pool)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            }};
        }
        Ok(match self {
            // CROSS JOIN: SQLite walks the terms first, as written.
            Self::Sqlite(pool, ..) => {
                find!(sqlx::Sqlite, pool, "CROSS JOIN view_docs d ON d.view = ")
            }
            Self::Postgres(pool) => find!(
                sqlx::Postgres,
                pool,
                "CROSS JOIN LATERAL (SELECT doc FROM view_docs d WHERE d.view = "
            ),
        })
    }

    /// Up to `limit` values of term `name` that begin with `prefix`, in
    /// order, each once: one range of the terms' primary key.
    pub(crate) async fn term_values(
        &self,
        view: &str,
        generation: i64,
        name: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        // The first text after every one that begins with `prefix`.
        let mut end: Vec<char> = prefix.chars().collect();
        let Some(last) = end.pop() else {
            return Ok(vec![]);
        };
        end.push(char::from_u32(u32::from(last) + 1).unwrap_or(char::MAX));
        let end: String = end.into_iter().collect();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(match self {
            Self::Sqlite(pool, ..) => sqlx::query_scalar(
                "SELECT DISTINCT value FROM view_terms WHERE view = ? AND generation = ? AND name = ? AND value >= ? AND value < ? ORDER BY value LIMIT ?",
            )
            .bind(view)
            .bind(generation)
            .bind(name)
            .bind(prefix)
            .bind(&end)
            .bind(limit)
            .fetch_all(pool)
            .await?,
            Self::Postgres(pool) => sqlx::query_scalar(
                "SELECT DISTINCT value FROM view_terms WHERE view = $1 AND generation = $2 AND name = $3 AND value >= $4 AND value < $5 ORDER BY value LIMIT $6",
            )
            .bind(view)
            .bind(generation)
            .bind(name)
            .bind(prefix)
            .bind(&end)
            .bind(limit)
            .fetch_all(pool)
            .await?,
        })
    }

    /// The counts of `scope` that are not zero, `(name, value, n)`: of
    /// the names in `names`, or of every name when it is empty. Each name
    /// is one range of the counts' primary key, a part of its own in one
    /// statement: `name IN (…)` let PostgreSQL walk every count of the
    /// scope and filter them (5,843 rows for 48 at a million events).
    pub(crate) async fn counts(
        &self,
        view: &str,
        generation: i64,
        scope: &str,
        names: &[&str],
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        macro_rules! counts {
            ($db:ty, $pool:expr) => {{
                let mut q = sqlx::QueryBuilder::<$db>::new("");
                let parts: Vec<Option<&str>> = if names.is_empty() {
                    vec![None]
                } else {
                    names.iter().copied().map(Some).collect()
                };
                for (i, name) in parts.into_iter().enumerate() {
                    if i > 0 {
                        q.push(" UNION ALL ");
                    }
                    q.push("SELECT name, value, n FROM view_counts WHERE view = ")
                        .push_bind(view)
                        .push(" AND generation = ")
                        .push_bind(generation)
                        .push(" AND scope = ")
                        .push_bind(scope);
                    if let Some(name) = name {
                        q.push(" AND name = ").push_bind(name);
                    }
                    q.push(" AND n <> 0");
                }
                q.push(" ORDER BY name, value");
                q.build_query_as()
                    .persistent(false)
                    .fetch_all($pool)
                    .await?
            }};
        }
        Ok(match self {
            Self::Sqlite(pool, ..) => counts!(sqlx::Sqlite, pool),
            Self::Postgres(pool) => counts!(sqlx::Postgres, pool),
        })
    }

    /// Up to `limit` values of count `name` in `scope` that are not zero,
    /// in order: one range of the counts' primary key.
    pub(crate) async fn count_values(
        &self,
        view: &str,
        generation: i64,
        scope: &str,
        name: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(match self {
            Self::Sqlite(pool, ..) => sqlx::query_scalar(
                "SELECT value FROM view_counts WHERE view = ? AND generation = ? AND scope = ? AND name = ? AND n <> 0 ORDER BY value LIMIT ?",
            )
            .bind(view)
            .bind(generation)
            .bind(scope)
            .bind(name)
            .bind(limit)
            .fetch_all(pool)
            .await?,
            Self::Postgres(pool) => sqlx::query_scalar(
                "SELECT value FROM view_counts WHERE view = $1 AND generation = $2 AND scope = $3 AND name = $4 AND n <> 0 ORDER BY value LIMIT $5",
            )
            .bind(view)
            .bind(generation)
            .bind(scope)
            .bind(name)
            .bind(limit)
            .fetch_all(pool)
            .await?,
        })
    }

    /// Every term and count of a generation: for checking a view.
    pub(crate) async fn beside_all(
        &self,
        view: &str,
        generation: i64,
    ) -> Result<
        (
            Vec<(String, String, String)>,
            Vec<(String, String, String, i64)>,
        ),
        StoreError,
    > {
        Ok(match self {
            Self::Sqlite(pool, ..) => (
                sqlx::query_as(
                    "SELECT key, name, value FROM view_terms WHERE view = ? AND generation = ?",
                )
                .bind(view)
                .bind(generation)
                .fetch_all(pool)
                .await?,
                sqlx::query_as(
                    "SELECT name, scope, value, n FROM view_counts WHERE view = ? AND generation = ? AND n <> 0",
                )
                .bind(view)
                .bind(generation)
                .fetch_all(pool)
                .await?,
            ),
            Self::Postgres(pool) => (
                sqlx::query_as(
                    "SELECT key, name, value FROM view_terms WHERE view = $1 AND generation = $2",
                )
                .bind(view)
                .bind(generation)
                .fetch_all(pool)
                .await?,
                sqlx::query_as(
                    "SELECT name, scope, value, n FROM view_counts WHERE view = $1 AND generation = $2 AND n <> 0",
                )
                .bind(view)
                .bind(generation)
                .fetch_all(pool)
                .await?,
            ),
        })
    }
}
