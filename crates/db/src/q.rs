//! One statement with its parameters as a tuple, `(a, b, c)` for `$1, $2, $3`: what nearly every
//! repository function runs, without a chain of `.bind` calls each. The SQL stays written out
//! at the call; only the binding and the fetching are shared.
//!
//! A parameter that cannot be encoded fails the statement before it is sent, as with `.bind`.

use crate::{Conn, DbResult};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::{Any, Arguments, Encode, FromRow, Type};

/// The parameters of one statement, in placeholder order.
pub trait Params<'q> {
    fn into_arguments(self) -> Result<AnyArguments<'q>, BoxDynError>;
}

macro_rules! params {
    ($($name:ident),*) => {
        impl<'q, $($name),*> Params<'q> for ($($name,)*)
        where
            $($name: 'q + Send + Encode<'q, Any> + Type<Any>,)*
        {
            #[allow(non_snake_case, unused_mut)]
            fn into_arguments(self) -> Result<AnyArguments<'q>, BoxDynError> {
                let ($($name,)*) = self;
                let mut arguments = AnyArguments::default();
                $(arguments.add($name)?;)*
                Ok(arguments)
            }
        }
    };
}

params!();
params!(A);
params!(A, B);
params!(A, B, C);
params!(A, B, C, D);
params!(A, B, C, D, E);
params!(A, B, C, D, E, F);
params!(A, B, C, D, E, F, G);
params!(A, B, C, D, E, F, G, H);
params!(A, B, C, D, E, F, G, H, I);
params!(A, B, C, D, E, F, G, H, I, J);
params!(A, B, C, D, E, F, G, H, I, J, K);
params!(A, B, C, D, E, F, G, H, I, J, K, L);
params!(A, B, C, D, E, F, G, H, I, J, K, L, M);
params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N);
params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O);

/// The bound values, or the error `.bind` would have given when the statement ran (nothing is
/// sent either way).
fn arguments<'q>(p: impl Params<'q>) -> Result<AnyArguments<'q>, sqlx::Error> {
    p.into_arguments().map_err(sqlx::Error::Encode)
}

/// Runs a statement that returns no rows; how many rows it changed.
pub async fn execute<'q>(conn: &mut Conn, sql: &'q str, p: impl Params<'q>) -> DbResult<u64> {
    let q = sqlx::query_with(sql, arguments(p)?);
    Ok(q.execute(&mut *conn).await?.rows_affected())
}

/// The one row the statement returns, as `T`.
pub async fn one<'q, T>(conn: &mut Conn, sql: &'q str, p: impl Params<'q>) -> DbResult<T>
where
    T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    let q = sqlx::query_as_with(sql, arguments(p)?);
    Ok(q.fetch_one(&mut *conn).await?)
}

/// The row, if the statement returns one.
pub async fn optional<'q, T>(
    conn: &mut Conn,
    sql: &'q str,
    p: impl Params<'q>,
) -> DbResult<Option<T>>
where
    T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    let q = sqlx::query_as_with(sql, arguments(p)?);
    Ok(q.fetch_optional(&mut *conn).await?)
}

/// Every row the statement returns.
pub async fn all<'q, T>(conn: &mut Conn, sql: &'q str, p: impl Params<'q>) -> DbResult<Vec<T>>
where
    T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    let q = sqlx::query_as_with(sql, arguments(p)?);
    Ok(q.fetch_all(&mut *conn).await?)
}

/// The first column of the one row the statement returns (a count, an id, a sum).
pub async fn scalar<'q, T>(conn: &mut Conn, sql: &'q str, p: impl Params<'q>) -> DbResult<T>
where
    (T,): for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    Ok(one::<(T,)>(conn, sql, p).await?.0)
}

/// The first column of the row, if the statement returns one.
pub async fn scalar_optional<'q, T>(
    conn: &mut Conn,
    sql: &'q str,
    p: impl Params<'q>,
) -> DbResult<Option<T>>
where
    (T,): for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    let row: Option<(T,)> = optional(conn, sql, p).await?;
    Ok(row.map(|(t,)| t))
}

/// The first column of every row the statement returns.
pub async fn scalars<'q, T>(conn: &mut Conn, sql: &'q str, p: impl Params<'q>) -> DbResult<Vec<T>>
where
    (T,): for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    let rows: Vec<(T,)> = all(conn, sql, p).await?;
    Ok(rows.into_iter().map(|(t,)| t).collect())
}

/// A value bound into a statement written at run time (a list's filter). The `$n` placeholders
/// are written by hand: sqlx's `QueryBuilder` over `Any` writes `?`, which PostgreSQL refuses.
#[derive(Clone, Debug)]
pub enum Value {
    Text(String),
    Int(i64),
}

fn add_values<'q>(
    arguments: &mut AnyArguments<'q>,
    values: &'q [Value],
) -> Result<(), BoxDynError> {
    for v in values {
        match v {
            Value::Text(s) => arguments.add(s.as_str())?,
            Value::Int(i) => arguments.add(*i)?,
        }
    }
    Ok(())
}

/// One page of a filtered list, newest first, with the number of rows the filter finds (for
/// paging): `SELECT * FROM {table}{where_}`, `values` bound to `$1..$n` of `where_`, and
/// LIMIT and OFFSET to the next two. The count and the page are two statements, as a paged
/// list always was.
pub async fn page<T>(
    conn: &mut Conn,
    table: &str,
    where_: &str,
    values: &[Value],
    limit: i64,
    offset: i64,
) -> DbResult<(Vec<T>, i64)>
where
    T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    page_ordered(conn, table, where_, values, "id DESC", limit, offset).await
}

/// [`page`] in another order; `order_by` is a fixed clause of the caller's, never user text.
pub async fn page_ordered<T>(
    conn: &mut Conn,
    table: &str,
    where_: &str,
    values: &[Value],
    order_by: &'static str,
    limit: i64,
    offset: i64,
) -> DbResult<(Vec<T>, i64)>
where
    T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    let count_sql = format!("SELECT COUNT(*) FROM {table}{where_}");
    let mut arguments = AnyArguments::default();
    add_values(&mut arguments, values).map_err(sqlx::Error::Encode)?;
    let total: i64 = sqlx::query_scalar_with(&count_sql, arguments)
        .fetch_one(&mut *conn)
        .await?;
    let n = values.len();
    let sql = format!(
        "SELECT * FROM {table}{where_} ORDER BY {order_by} LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut arguments = AnyArguments::default();
    add_values(&mut arguments, values)
        .and_then(|()| arguments.add(limit))
        .and_then(|()| arguments.add(offset))
        .map_err(sqlx::Error::Encode)?;
    let rows = sqlx::query_as_with(&sql, arguments)
        .fetch_all(&mut *conn)
        .await?;
    Ok((rows, total))
}
