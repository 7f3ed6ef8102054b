//! The schema is written twice, as SQLite migration steps in `store/src/sqlite/schema.rs` and as
//! `store/migrations/*.sql` for PostgreSQL (issue 17): this test migrates both from nothing and
//! compares what they hold — the same tables, the same columns in each, and the same explicit
//! indexes over the same columns — so the two cannot drift silently. (Column types are the
//! backends' own and are not compared: `INTEGER` against `BIGINT`, `BLOB` against `BYTEA`.)

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row as _;
use vouch_store::postgres::PgStore;
use vouch_store::sqlite::SqliteStore;

/// Tables one backend has on purpose, with the reason.
const SQLITE_ONLY: &[(&str, &str)] = &[(
    "results",
    "one row per result, as SQLite stores before schema 7 kept evaluations: still read for \
     evaluations stored before result sets; PostgreSQL began with result sets",
)];

/// Indexes each backend has on purpose where the other has another, with the reason.
const ONE_BACKEND_INDEXES: &[(&str, &str)] = &[
    (
        "snapshots_by_asset",
        "SQLite: a chain's snapshots by asset and sequence; PostgreSQL reads them from \
         snapshots_by_chain_covered, which carries the instants too (INCLUDE has no SQLite form)",
    ),
    (
        "snapshots_by_chain_covered",
        "PostgreSQL: the covering form of snapshots_by_asset (migration 0003)",
    ),
];

/// table → its columns.
type Tables = BTreeMap<String, BTreeSet<String>>;
/// index name → (table, its columns in order).
type Indexes = BTreeMap<String, (String, Vec<String>)>;

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
        let columns = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        tables.insert(table.clone(), columns);
        // Explicit indexes only (CREATE INDEX): those behind PRIMARY KEY and UNIQUE are the
        // backends' own business and named differently.
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
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        tables
            .entry(row.get::<String, _>(0))
            .or_default()
            .insert(row.get::<String, _>(1));
    }
    // Indexes that no constraint owns (PRIMARY KEY and UNIQUE constraints make their own).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_have_the_same_tables_columns_and_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    drop(SqliteStore::open(&path).unwrap());
    let (mut sqlite_tables, sqlite_indexes) = sqlite_schema(&path);
    for (table, _why) in SQLITE_ONLY {
        assert!(
            sqlite_tables.remove(*table).is_some(),
            "{table} is gone: drop it from SQLITE_ONLY"
        );
    }

    let base = std::env::var("VOUCH_TEST_POSTGRES_URL")
        .expect("VOUCH_TEST_POSTGRES_URL is not set: run the tests under `bash .ci/with-services`");
    let url = vouch_store::postgres::create_test_database(&base)
        .await
        .unwrap();
    drop(PgStore::connect(&url).await.unwrap());
    let (pg_tables, pg_indexes) = postgres_schema(&url).await;

    assert!(sqlite_tables.len() > 10, "{sqlite_tables:?}");
    let names = |t: &Tables| t.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(names(&sqlite_tables), names(&pg_tables), "tables");
    for (table, columns) in &sqlite_tables {
        assert_eq!(columns, &pg_tables[table], "columns of {table}");
    }
    let shared = |mut indexes: Indexes| {
        indexes.retain(|name, _| !ONE_BACKEND_INDEXES.iter().any(|(n, _)| n == name));
        indexes
    };
    for (name, _why) in ONE_BACKEND_INDEXES {
        assert!(
            sqlite_indexes.contains_key(*name) != pg_indexes.contains_key(*name),
            "{name} is on both backends or neither now: drop it from ONE_BACKEND_INDEXES"
        );
    }
    assert_eq!(
        shared(sqlite_indexes),
        shared(pg_indexes),
        "explicit indexes (name → table, columns)"
    );
}
