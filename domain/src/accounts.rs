//! Accounts: registration, sign-in with Argon2 password hashes, password
//! changes (which end the account's other sessions).

use entity::user;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{DomainError, now};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// An account as it may be shown.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<user::Model> for Account {
    fn from(user: user::Model) -> Self {
        Account {
            id: user.id,
            email: user.email,
            created_at: user.created_at,
        }
    }
}

/// Trims and lower-cases an address; `Err` says what is wrong with it.
pub fn normalize_email(email: &str) -> Result<String, DomainError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 320
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.contains(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(DomainError::invalid(
            "email",
            "enter an email address like ada@example.com",
        ))
    }
}

fn check_password(field: &str, password: &str) -> Result<(), DomainError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(DomainError::invalid(
            field,
            format!("use at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(DomainError::invalid(
            field,
            format!("use at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Argon2 hashes computed at once by this process. Each takes a core (and
/// about 19 MiB) for tens of milliseconds, so running more at once only
/// makes every one slower and starves the rest of the server: the bound is
/// the machine's parallelism, shared by every caller in the process.
fn hashing() -> &'static tokio::sync::Semaphore {
    static HASHING: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    HASHING.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        tokio::sync::Semaphore::new(cores.max(2))
    })
}

/// How long a request waits for a hashing slot before it is told to retry
/// (429, `Retry-After: 1`): a short burst of sign-ins waits its turn, a
/// flood is turned away instead of queueing without bound.
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs Argon2 work off the async workers, at most [`hashing`] at once.
async fn argon2<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DomainError> {
    let _permit = tokio::time::timeout(HASH_WAIT, hashing().acquire())
        .await
        .map_err(|_| DomainError::Throttled {
            retry_after_secs: 1,
        })?
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))
}

async fn hash_password(password: &str) -> Result<String, DomainError> {
    let password = password.to_owned();
    argon2(move || password_auth::generate_hash(password)).await
}

async fn verify_password(password: &str, hash: &str) -> Result<bool, DomainError> {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    argon2(move || password_auth::verify_password(password, &hash).is_ok()).await
}

pub async fn register(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> Result<Account, DomainError> {
    let email = normalize_email(email)?;
    check_password("password", password)?;
    if user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(db)
        .await?
        .is_some()
    {
        return Err(DomainError::Conflict(
            "an account with this email already exists; sign in instead".into(),
        ));
    }
    let hash = hash_password(password).await?;
    let now = now();
    let model = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        password_hash: Set(hash),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|error| match error.sql_err() {
        // Two registrations raced for the same address.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            DomainError::Conflict("an account with this email already exists".into())
        }
        _ => DomainError::Database(error),
    })?;
    Ok(model.into())
}

/// A real hash to verify against when the account does not exist, so that
/// a wrong address takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| password_auth::generate_hash("switchyard-no-such-account"))
}

/// Checks credentials; the error never says whether the account exists.
pub async fn authenticate(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> Result<Account, DomainError> {
    let refused = || DomainError::Unauthorized("wrong email or password".into());
    let email = normalize_email(email).map_err(|_| refused())?;
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(&email))
        .one(db)
        .await?;
    let hash = found
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
    let matches = verify_password(password, &hash).await?;
    match found {
        Some(user) if matches => Ok(user.into()),
        _ => Err(refused()),
    }
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Account>, DomainError> {
    Ok(user::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(Account::from))
}

/// Changes the password after checking the current one, and ends every
/// session of the account except `keep_session`.
pub async fn change_password(
    db: &DatabaseConnection,
    user_id: Uuid,
    current: &str,
    new: &str,
    keep_session: Option<&str>,
) -> Result<(), DomainError> {
    let user = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)?;
    if !verify_password(current, &user.password_hash).await? {
        return Err(DomainError::invalid(
            "current_password",
            "the current password is wrong",
        ));
    }
    check_password("new_password", new)?;
    let hash = hash_password(new).await?;
    let mut active: user::ActiveModel = user.into();
    active.password_hash = Set(hash);
    active.updated_at = Set(now());
    active.update(db).await?;
    let mut delete =
        entity::session::Entity::delete_many().filter(entity::session::Column::UserId.eq(user_id));
    if let Some(keep) = keep_session {
        delete = delete.filter(entity::session::Column::Id.ne(keep));
    }
    delete.exec(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a da@example.com",
            "ada@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_dummy_hash_is_a_real_hash() {
        assert!(dummy_hash().starts_with("$argon2"));
        assert!(password_auth::verify_password("anything", dummy_hash()).is_err());
    }
}
