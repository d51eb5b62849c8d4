//! Audit checkpoints under S3 Object Lock, when `COUNTERSIGN_AUDIT_BUCKET` names a bucket:
//! each checkpoint is an object `audit/{group}/{size:012}`, locked in compliance mode for
//! the configured retention, so that nobody (the account's root included) can delete or
//! overwrite it before then. Without a bucket, the newest checkpoint is a new version of an
//! SSM parameter instead (`trail.rs`).

use crate::calls::port;
use crate::AwsBackend;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{ChecksumAlgorithm, ObjectLockEnabled, ObjectLockMode};
use countersign_domain::ports::PortError;
use countersign_domain::GroupName;

fn object_key(group: &GroupName, size: u64) -> String {
    format!("audit/{group}/{size:012}")
}

impl AwsBackend {
    /// At start-up: the configured bucket exists and has Object Lock on.
    pub(crate) async fn check_audit_bucket(&self) -> Result<(), PortError> {
        let (Some(s3), Some(bucket)) = (&self.s3, &self.settings.audit_bucket) else {
            return Ok(());
        };
        let lock = self
            .calls
            .call(
                "s3:GetBucketObjectLockConfiguration",
                s3.get_object_lock_configuration()
                    .bucket(&bucket.name)
                    .send(),
            )
            .await;
        let enabled = match lock {
            Ok(lock) => lock
                .object_lock_configuration()
                .and_then(|c| c.object_lock_enabled())
                .is_some_and(|e| *e == ObjectLockEnabled::Enabled),
            Err(f) if f.code() == Some("ObjectLockConfigurationNotFoundError") => false,
            Err(f) => return Err(port(f)),
        };
        if !enabled {
            return Err(PortError::Rejected(format!(
                "the audit bucket {} (COUNTERSIGN_AUDIT_BUCKET) has no Object Lock; create it with Object Lock enabled",
                bucket.name
            )));
        }
        Ok(())
    }

    /// Puts `note`, the checkpoint of `size` entries, in the bucket, locked; false when no
    /// bucket is configured.
    pub(crate) async fn lock_checkpoint(
        &self,
        group: &GroupName,
        size: u64,
        note: &str,
    ) -> Result<bool, PortError> {
        let (Some(s3), Some(bucket)) = (&self.s3, &self.settings.audit_bucket) else {
            return Ok(false);
        };
        let until = time::OffsetDateTime::now_utc() + bucket.retention;
        self.calls
            .call(
                "s3:PutObject",
                s3.put_object()
                    .bucket(&bucket.name)
                    .key(object_key(group, size))
                    .content_type("text/plain; charset=utf-8")
                    .body(ByteStream::from(note.as_bytes().to_vec()))
                    // Object Lock needs a checksum with the object.
                    .checksum_algorithm(ChecksumAlgorithm::Sha256)
                    .object_lock_mode(ObjectLockMode::Compliance)
                    .object_lock_retain_until_date(DateTime::from_secs(until.unix_timestamp()))
                    .send(),
            )
            .await
            .map_err(port)?;
        Ok(true)
    }

    /// The checkpoints in the bucket naming more than `known` entries (the table's largest):
    /// normally none; after the table's tail was cut, the bucket's own, which show it.
    /// `None` when no bucket is configured.
    pub(crate) async fn locked_beyond(
        &self,
        group: &GroupName,
        known: u64,
    ) -> Result<Option<Vec<String>>, PortError> {
        let (Some(s3), Some(bucket)) = (&self.s3, &self.settings.audit_bucket) else {
            return Ok(None);
        };
        let mut keys = Vec::new();
        let mut next = None;
        loop {
            let page = self
                .calls
                .call(
                    "s3:ListBucket",
                    s3.list_objects_v2()
                        .bucket(&bucket.name)
                        .prefix(format!("audit/{group}/"))
                        .start_after(object_key(group, known))
                        .set_continuation_token(next)
                        .send(),
                )
                .await
                .map_err(port)?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            next = page.next_continuation_token().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        let mut notes = Vec::new();
        // The newest one says how long the trail was; reading every one would cost a request
        // per checkpoint.
        if let Some(key) = keys.last() {
            let object = self
                .calls
                .call(
                    "s3:GetObject",
                    s3.get_object().bucket(&bucket.name).key(key).send(),
                )
                .await
                .map_err(port)?;
            let bytes = object.body.collect().await.map_err(|e| {
                PortError::Unavailable(format!("reading the audit checkpoint {key}: {e}"))
            })?;
            notes.push(String::from_utf8_lossy(&bytes.into_bytes()).into_owned());
        }
        Ok(Some(notes))
    }
}
