//! `vpnmarket backup --out DIR`: a consistent copy of a live SQLite database (`VACUUM INTO`,
//! safe while the server runs) plus the data directory's secret key and receipts. Restoring is
//! pointing `VPNMARKET_DATA_DIR` at the copy. PostgreSQL deployments back up with `pg_dump`.

use crate::config::Config;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

pub async fn run(mut config: Config, out: PathBuf) -> Result<()> {
    config.prepare_data_dir()?;
    if !config.database_url.starts_with("sqlite:") {
        bail!("VPNMARKET_DATABASE_URL is PostgreSQL: back it up with pg_dump (see docs/operations.md); this command copies SQLite deployments");
    }
    if out.exists() && std::fs::read_dir(&out)?.next().is_some() {
        bail!(
            "{} exists and is not empty: choose a new directory",
            out.display()
        );
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    // The copy holds the secret key and every account: readable by its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o700))?;
    }
    let out = out.canonicalize()?;
    let db = db::Db::connect(&config.database_url, 1).await?;
    let target = out.join("vpnmarket.db");
    // VACUUM INTO writes a transactionally consistent snapshot, even with writers active.
    sqlx::query("VACUUM INTO $1")
        .bind(target.display().to_string())
        .execute(db.pool())
        .await
        .context("copying the database")?;
    db.close().await;
    let mut copied = vec![target.clone()];
    let secret = config.data_dir.join("secret.key");
    if secret.exists() {
        let to = out.join("secret.key");
        std::fs::copy(&secret, &to)?;
        copied.push(to);
    }
    let receipts = config.data_dir.join("receipts");
    if receipts.is_dir() {
        copied.extend(copy_dir(&receipts, &out.join("receipts"))?);
    }
    println!(
        "backup written to {} ({} files)",
        out.display(),
        copied.len()
    );
    println!(
        "restore: stop the server, then start it with VPNMARKET_DATA_DIR={}",
        out.display()
    );
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(to)?;
    let mut copied = Vec::new();
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copied.extend(copy_dir(&entry.path(), &dest)?);
        } else {
            std::fs::copy(entry.path(), &dest)?;
            copied.push(dest);
        }
    }
    Ok(copied)
}
