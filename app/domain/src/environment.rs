//! Deployment environments and their order (`dev` → `test` → `uat` → `prod` by default).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The name of a deployment environment. It doubles as a SageMaker custom-metadata key and
/// as a segment of an SSM parameter name, so only lower-case letters, digits and `-` are
/// allowed, starting with a letter, at most 32 characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Environment(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    #[error("environment name {0:?} is not valid: use 1 to 32 lower-case letters, digits or '-', starting with a letter")]
    InvalidName(String),
    #[error(
        "the environment list is empty: name at least one environment, e.g. dev,test,uat,prod"
    )]
    Empty,
    #[error("environment {0:?} is listed twice")]
    Duplicate(String),
}

impl Environment {
    pub fn parse(name: &str) -> Result<Self, EnvironmentError> {
        let valid = (1..=32).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(EnvironmentError::InvalidName(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Environment {
    type Error = EnvironmentError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Environment> for String {
    fn from(value: Environment) -> Self {
        value.0
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The promotion path: a non-empty list of distinct environments, first to last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environments(Vec<Environment>);

impl Environments {
    pub fn new(list: Vec<Environment>) -> Result<Self, EnvironmentError> {
        if list.is_empty() {
            return Err(EnvironmentError::Empty);
        }
        for (i, env) in list.iter().enumerate() {
            if list[..i].contains(env) {
                return Err(EnvironmentError::Duplicate(env.0.clone()));
            }
        }
        Ok(Self(list))
    }

    /// Parses a comma-separated list such as `dev,test,uat,prod`.
    pub fn parse_list(list: &str) -> Result<Self, EnvironmentError> {
        let names = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Environment::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(names)
    }

    pub fn first(&self) -> &Environment {
        &self.0[0]
    }

    /// The last environment (production, usually).
    pub fn last(&self) -> &Environment {
        &self.0[self.0.len() - 1]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Environment> {
        self.0.iter()
    }

    pub fn position(&self, env: &Environment) -> Option<usize> {
        self.0.iter().position(|e| e == env)
    }

    pub fn find(&self, name: &str) -> Option<&Environment> {
        self.0.iter().find(|e| e.as_str() == name)
    }

    /// The environment that must be approved before `env` may be decided.
    pub fn previous(&self, env: &Environment) -> Option<&Environment> {
        self.position(env)
            .and_then(|i| i.checked_sub(1))
            .map(|i| &self.0[i])
    }

    pub fn after(&self, env: &Environment) -> &[Environment] {
        match self.position(env) {
            Some(i) => &self.0[i + 1..],
            None => &[],
        }
    }
}

/// The names in order, comma-separated, as they are configured (`dev,test,uat,prod`).
impl fmt::Display for Environments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, env) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(env.as_str())?;
        }
        Ok(())
    }
}

impl Default for Environments {
    fn default() -> Self {
        Self::parse_list("dev,test,uat,prod").expect("the default environments are valid")
    }
}

#[cfg(test)]
mod tests;
