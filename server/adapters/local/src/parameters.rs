//! The parameter store: each environment's deployments, numbered like SSM parameter
//! versions.

use crate::rows::*;
use crate::LocalStore;
use async_trait::async_trait;
use countersign_domain::ports::*;
use countersign_domain::*;
use rusqlite::{params, OptionalExtension};

#[async_trait]
impl ParameterStore for LocalStore {
    async fn live(
        &self,
        group: &GroupName,
        environment: &Environment,
    ) -> Result<Option<Deployment>, PortError> {
        let (group, environment) = (group.to_string(), environment.to_string());
        self.with(move |c| {
            c.prepare_cached(&format!(
                "SELECT {DEPLOYMENT_COLUMNS} FROM deployments \
                 WHERE group_name = ?1 AND environment = ?2 \
                 ORDER BY parameter_version DESC LIMIT 1"
            ))
            .and_then(|mut s| {
                s.query_row(params![group, environment], deployment_from_row)
                    .optional()
            })
            .map_err(unavailable)
        })
        .await
    }

    async fn history(&self, group: &GroupName) -> Result<Vec<Deployment>, PortError> {
        let group = group.to_string();
        self.with(move |c| {
            all_rows(
                c,
                // Rows are inserted as decisions commit, so the rowid orders them in time.
                &format!(
                    "SELECT {DEPLOYMENT_COLUMNS} FROM deployments \
                     WHERE group_name = ?1 ORDER BY rowid DESC"
                ),
                params![group],
                deployment_from_row,
            )
        })
        .await
    }
}
