//! Who runs a command: the operator's account on this machine, kept with every command that
//! changes records or takes them away, in the portal's own trail (21 CFR 11.10(e): an action
//! on records is attributed to whoever took it, not to the person a command names).

use countersign_domain::audit::SystemEvent;
use countersign_domain::service::Services;

/// How much of a command line is kept.
const COMMAND_KEPT_CHARS: usize = 2000;

/// The account running this process: `USER` (or `LOGNAME`), else its numeric user id.
pub fn operator() -> String {
    let named = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .map(|name| name.trim().to_owned())
        .find(|name| !name.is_empty());
    named.unwrap_or_else(|| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if let Ok(process) = std::fs::metadata("/proc/self") {
                return format!("uid {}", process.uid());
            }
        }
        "unknown".into()
    })
}

/// Keeps `countersign` and its arguments as given, run by [`operator`] (with, on AWS, the
/// identity its credentials are, `aws_caller`), before it runs: a command that cannot be
/// kept does not run.
pub async fn record_command(services: &Services, aws_caller: Option<String>) -> Result<(), String> {
    let mut command: String = std::iter::once("countersign".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    if command.len() > COMMAND_KEPT_CHARS {
        let end = command.floor_char_boundary(COMMAND_KEPT_CHARS);
        command.truncate(end);
        command.push('…');
    }
    let operator = operator();
    services
        .record_system_event(
            &operator,
            SystemEvent::CommandRun {
                command,
                operator: operator.clone(),
                aws_caller,
            },
        )
        .await
        .map_err(|e| {
            format!(
                "the command could not be kept in the portal's own trail, so it did not run: {e}"
            )
        })
}
