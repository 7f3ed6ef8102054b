//! The schema is declared once, in `vouch_store::schema` (issue 17); each backend reaches it by
//! its own migrations (SQLite `user_version` steps in `store/src/sqlite/schema.rs`, PostgreSQL
//! `store/migrations/*.sql`). This test migrates both from nothing and compares what each holds
//! with the declaration: the same tables, each column with its type and nullability, the
//! primary keys, and the explicit indexes over the same key columns. A migration missing a
//! column, or a column added to one backend only, fails here naming it.

use std::collections::BTreeMap;

use sqlx::Row as _;
use vouch_store::postgres::PgStore;
use vouch_store::schema::{Backend, INDEXES, TABLES};
use vouch_store::sqlite::SqliteStore;

/// One table as a backend holds it.
#[derive(Debug, Default, PartialEq, Eq)]
struct TableShape {
    /// column → (type as the backend names it, nullable), in declaration order.
    columns: Vec<(String, String, bool)>,
    /// Primary-key columns, in key order.
    primary_key: Vec<String>,
}

type Tables = BTreeMap<String, TableShape>;
/// index name → (table, its key columns in order).
type Indexes = BTreeMap<String, (String, Vec<String>)>;

/// What the declaration says `backend` holds.
fn declared(backend: Backend) -> (Tables, Indexes) {
    let tables = TABLES
        .iter()
        .filter(|t| t.on(backend))
        .map(|t| {
            let shape = TableShape {
                columns: t
                    .columns
                    .iter()
                    .map(|c| {
                        let ty = c.ty.sql(backend).to_string();
                        (c.name.to_string(), ty, c.nullable_on(backend))
                    })
                    .collect(),
                primary_key: t.primary_key.iter().map(|c| c.to_string()).collect(),
            };
            (t.name.to_string(), shape)
        })
        .collect();
    let indexes = INDEXES
        .iter()
        .filter(|i| i.on(backend))
        .map(|i| {
            let columns = i.columns.iter().map(|c| c.to_string()).collect();
            (i.name.to_string(), (i.table.to_string(), columns))
        })
        .collect();
    (tables, indexes)
}

fn sqlite_schema(path: &std::path::Path) -> (Tables, Indexes) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut tables = Tables::new();
    let mut indexes = Indexes::new();
    for table in names {
        // (name, type, notnull, pk position)
        let rows: Vec<(String, String, bool, i64)> = conn
            .prepare(&format!(
                "SELECT name, type, \"notnull\", pk FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut key: Vec<(i64, String)> = rows
            .iter()
            .filter(|r| r.3 > 0)
            .map(|r| (r.3, r.0.clone()))
            .collect();
        key.sort();
        let shape = TableShape {
            // A primary-key column is never NULL here: SQLite, for its historical reasons,
            // lets a non-INTEGER key hold NULL unless declared NOT NULL, but the store never
            // writes one.
            columns: rows
                .iter()
                .map(|(name, ty, notnull, pk)| {
                    (name.clone(), ty.to_lowercase(), !notnull && *pk == 0)
                })
                .collect(),
            primary_key: key.into_iter().map(|(_, c)| c).collect(),
        };
        tables.insert(table.clone(), shape);
        let explicit: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL",
            )
            .unwrap()
            .query_map([&table], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for index in explicit {
            let columns: Vec<String> = conn
                .prepare(&format!(
                    "SELECT name FROM pragma_index_info('{index}') ORDER BY seqno"
                ))
                .unwrap()
                .query_map([], |r| r.get::<_, Option<String>>(0))
                .unwrap()
                .map(|c| c.unwrap().unwrap_or_else(|| "<expression>".into()))
                .collect();
            indexes.insert(index, (table.clone(), columns));
        }
    }
    (tables, indexes)
}

async fn postgres_schema(url: &str) -> (Tables, Indexes) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let mut tables = Tables::new();
    for row in sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'YES' \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%' \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        tables
            .entry(row.get::<String, _>(0))
            .or_default()
            .columns
            .push((row.get(1), row.get(2), row.get(3)));
    }
    for row in sqlx::query(
        "SELECT k.table_name::text, k.column_name::text \
         FROM information_schema.table_constraints c \
         JOIN information_schema.key_column_usage k \
           ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema \
         WHERE c.table_schema = 'public' AND c.constraint_type = 'PRIMARY KEY' \
           AND c.table_name NOT LIKE '\\_sqlx%' \
         ORDER BY k.table_name, k.ordinal_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        let table: String = row.get(0);
        tables.get_mut(&table).unwrap().primary_key.push(row.get(1));
    }
    // Indexes that no constraint owns (PRIMARY KEY and UNIQUE constraints make their own); key
    // columns only (a covering index's INCLUDE columns are not keys).
    let mut indexes = Indexes::new();
    for row in sqlx::query(
        "SELECT i.relname::text, t.relname::text, a.attname::text, k.ord \
         FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) \
         LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE n.nspname = 'public' AND t.relname NOT LIKE '\\_sqlx%' \
           AND k.ord <= x.indnkeyatts \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) \
         ORDER BY 1, 4",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        let column: Option<String> = row.get(2);
        indexes
            .entry(row.get::<String, _>(0))
            .or_insert_with(|| (row.get::<String, _>(1), Vec::new()))
            .1
            .push(column.unwrap_or_else(|| "<expression>".into()));
    }
    pool.close().await;
    (tables, indexes)
}

/// Every difference between what `backend` holds and the declaration, in words.
fn differences(backend: Backend, (tables, indexes): (Tables, Indexes)) -> Vec<String> {
    let (want_tables, want_indexes) = declared(backend);
    let mut out = Vec::new();
    for name in want_tables.keys().filter(|t| !tables.contains_key(*t)) {
        out.push(format!("{backend:?} lacks table {name}"));
    }
    for name in tables.keys().filter(|t| !want_tables.contains_key(*t)) {
        out.push(format!(
            "{backend:?} has table {name}, which is not declared"
        ));
    }
    for (name, want) in &want_tables {
        let Some(have) = tables.get(name) else {
            continue;
        };
        for c in &want.columns {
            match have.columns.iter().find(|h| h.0 == c.0) {
                None => out.push(format!("{backend:?} lacks column {name}.{}", c.0)),
                Some(h) if h != c => out.push(format!(
                    "{backend:?} has {name}.{} as {} {}, declared {} {}",
                    c.0,
                    h.1,
                    if h.2 { "NULL" } else { "NOT NULL" },
                    c.1,
                    if c.2 { "NULL" } else { "NOT NULL" },
                )),
                Some(_) => {}
            }
        }
        for h in have
            .columns
            .iter()
            .filter(|h| !want.columns.iter().any(|c| c.0 == h.0))
        {
            out.push(format!(
                "{backend:?} has column {name}.{}, which is not declared",
                h.0
            ));
        }
        if have.primary_key != want.primary_key {
            out.push(format!(
                "{backend:?} keys {name} by {:?}, declared {:?}",
                have.primary_key, want.primary_key
            ));
        }
    }
    for (name, want) in &want_indexes {
        match indexes.get(name) {
            None => out.push(format!("{backend:?} lacks index {name}")),
            Some(have) if have != want => out.push(format!(
                "{backend:?} has index {name} on {have:?}, declared {want:?}"
            )),
            Some(_) => {}
        }
    }
    for name in indexes.keys().filter(|i| !want_indexes.contains_key(*i)) {
        out.push(format!(
            "{backend:?} has index {name}, which is not declared"
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_hold_exactly_the_declared_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    drop(SqliteStore::open(&path).unwrap());
    let sqlite = sqlite_schema(&path);
    assert!(sqlite.0.len() > 10, "{:?}", sqlite.0.keys());

    let base = std::env::var("VOUCH_TEST_POSTGRES_URL")
        .expect("VOUCH_TEST_POSTGRES_URL is not set: run the tests under `bash .ci/with-services`");
    let url = vouch_store::postgres::create_test_database(&base)
        .await
        .unwrap();
    drop(PgStore::connect(&url).await.unwrap());
    let postgres = postgres_schema(&url).await;
    assert!(postgres.0.len() > 10, "{:?}", postgres.0.keys());

    let mut wrong = differences(Backend::Sqlite, sqlite);
    wrong.extend(differences(Backend::Postgres, postgres));
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The comparison itself can fail: a declaration with a column too many, one too few and an
/// index missing is told apart from what SQLite holds, each named.
#[test]
fn a_drifted_backend_is_named_column_by_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    drop(SqliteStore::open(&path).unwrap());
    let (mut tables, mut indexes) = sqlite_schema(&path);
    let agents = tables.get_mut("agents").unwrap();
    agents.columns.retain(|c| c.0 != "revoked_by");
    agents.columns.push(("colour".into(), "text".into(), true));
    indexes.remove("snapshots_by_time");
    let wrong = differences(Backend::Sqlite, (tables, indexes));
    assert_eq!(
        wrong,
        [
            "Sqlite lacks column agents.revoked_by",
            "Sqlite has column agents.colour, which is not declared",
            "Sqlite lacks index snapshots_by_time",
        ]
    );
}
