//! `countersign`: serves the portal, or runs one command against the configured backend.

use clap::{Parser, Subcommand};
use countersign_domain::identity::normalised_identifier;
use countersign_domain::ports::{Revocation, Revoked};
use countersign_domain::{GroupName, Metrics, Person, Registration};
use countersign_server::config::Config;
use countersign_server::http::api::version_json;
use countersign_server::{application, auth, backend, background, demo};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "countersign",
    version,
    about = "A human signature on every model promotion"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal and the API (the default).
    Serve,
    /// Print, as JSON, the model version live in an environment.
    Resolve {
        #[arg(long)]
        group: String,
        #[arg(long)]
        environment: String,
    },
    /// Register a model version, as a training pipeline does.
    Register {
        #[arg(long)]
        group: String,
        #[arg(long)]
        image_uri: String,
        #[arg(long, default_value = "")]
        model_data_url: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A metric as NAME=VALUE; repeat for more.
        #[arg(long = "metric", value_parser = parse_metric)]
        metrics: Vec<(String, f64)>,
        /// A custom metadata entry as KEY=VALUE (a data set, a commit); repeat for more.
        #[arg(long = "metadata", value_parser = parse_metadata)]
        metadata: Vec<(String, String)>,
        /// The registrant's identity-provider subject.
        #[arg(long)]
        registered_by: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, default_value = "")]
        email: String,
    },
    /// Make a new static API token: prints the token (give it to the pipeline) and the
    /// entry for COUNTERSIGN_API_TOKENS (only the token's digest is configured).
    Token {
        /// A name for the caller, recorded with what it does (e.g. batch-inference).
        #[arg(long)]
        name: String,
        /// What it may do: register, report, resolve (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
    },
    /// End sign-ins at once, on every replica: a person's (someone who left, a lost laptop)
    /// or everyone's. They can sign in again only through the identity provider.
    Sessions {
        #[command(subcommand)]
        action: SessionsAction,
    },
    /// Move what a portal before the DynamoDB table kept in SSM (decision log, reports,
    /// outbox, session revocations) into the table, and check that everything arrived.
    /// Safe to run again, and while the portal serves.
    #[cfg(feature = "aws")]
    Migrate {
        /// From the SSM layout under COUNTERSIGN_SSM_PREFIX (the only source there is).
        #[arg(long, required = true)]
        from_ssm: bool,
    },
    /// Installation qualification: check this deployment against what the README requires
    /// of one that keeps GxP records (the profile, the store, the audit bucket, keys, the
    /// identity provider), PASS or FAIL per item; changes nothing. Exits 1 on a FAIL.
    Iq,
    /// The tamper-evident audit trail: export a group's, or verify an export offline.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Register many versions (for benchmarks): `--versions` in each of `--groups` groups,
    /// named after `--group` (`{group}-001`, … when more than one).
    Seed {
        #[arg(long)]
        group: String,
        #[arg(long)]
        versions: u32,
        #[arg(long, default_value_t = 1)]
        groups: u32,
        /// The demo identity who registers them: `dana`, or an approver, for whom her own
        /// versions then do not wait.
        #[arg(long, default_value = "dana")]
        registrant: String,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Write a group's trail, its published checkpoints and the public key as one JSON
    /// bundle on standard output.
    Export {
        /// The model group; `_countersign` for the portal's own trail (sign-ins, start-ups).
        #[arg(long)]
        group: String,
        /// Entries from this time on: a date (2026-07-01) or an RFC 3339 time.
        #[arg(long, value_parser = countersign_server::audit::parse_start)]
        from: Option<time::OffsetDateTime>,
        /// Entries until this time: a date (through its end) or an RFC 3339 time.
        #[arg(long, value_parser = countersign_server::audit::parse_end)]
        to: Option<time::OffsetDateTime>,
    },
    /// Check a bundle offline (no server, no AWS): the chain, the tree, every checkpoint's
    /// signature, entry times in order, and the workflow's rules. Exits 1 naming the first
    /// bad entry, or when no key kept apart was given (see --trust-bundle-key).
    Verify {
        /// The bundle `audit export` wrote.
        bundle: std::path::PathBuf,
        /// The public key to trust (from /api/v1/audit/public-key, kept apart).
        #[arg(long)]
        key: Option<String>,
        /// Checkpoints kept from before (an earlier bundle, a JSON array of checkpoint
        /// notes, or the notes as text; or a directory of such files, such as the locked
        /// checkpoints copied from the audit bucket): the bundle must extend each of them, so
        /// a trail rolled back or forked since shows.
        #[arg(long)]
        seen: Option<std::path::PathBuf>,
        /// Without --key, accept the key the bundle carries (anyone who rewrote the whole
        /// trail could have put their own there).
        #[arg(long, conflicts_with = "key")]
        trust_bundle_key: bool,
        /// Accept decisions in entries before this sequence number that carry no evidence
        /// from the identity provider although the rules in force named one (signed before
        /// the portal kept it). Evidence that is there and wrong is never accepted.
        #[arg(long, value_name = "SEQ")]
        accept_unsigned_before: Option<u64>,
        /// The identity provider's published keys (its JWKS document, as
        /// `jwks_uri` serves it, or a JSON array of JWKs): each ID token's recorded key must
        /// be one of them.
        #[arg(long, value_name = "FILE")]
        provider_keys: Option<std::path::PathBuf>,
    },
    /// Print the public key checkpoints are signed with.
    PublicKey,
    /// Write every trail (each model group's and the portal's own) for keeping: a bundle
    /// each, the public key, the bundle format document, the second verifier, a README and
    /// a manifest of SHA-256 sums signed with the audit key, into a new directory.
    Archive {
        /// The directory to write, new or empty.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Entries from this time on: a date (2026-07-01) or an RFC 3339 time.
        #[arg(long, value_parser = countersign_server::audit::parse_start)]
        from: Option<time::OffsetDateTime>,
        /// Entries until this time: a date (through its end) or an RFC 3339 time.
        #[arg(long, value_parser = countersign_server::audit::parse_end)]
        to: Option<time::OffsetDateTime>,
    },
}

#[derive(Subcommand)]
enum SessionsAction {
    /// Revoke the sessions begun until now.
    Revoke {
        /// The person's identifier, as signed in (their e-mail address, or the value of
        /// COUNTERSIGN_OIDC_IDENTITY_CLAIM); compared trimmed and case-folded.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        person: Option<String>,
        /// Everyone's.
        #[arg(long)]
        all: bool,
    },
}

impl Command {
    /// Whether running it is kept in the portal's own trail, with who ran it: it changes
    /// records or takes them away.
    fn is_kept(&self) -> bool {
        match self {
            Command::Register { .. }
            | Command::Sessions { .. }
            | Command::Seed { .. }
            | Command::Iq => true,
            Command::Audit {
                action: AuditAction::Export { .. } | AuditAction::Archive { .. },
            } => true,
            #[cfg(feature = "aws")]
            Command::Migrate { .. } => true,
            _ => false,
        }
    }
}

/// `text` as a pair around its first `=`; `form` says how the option is written.
fn pair<'a>(text: &'a str, form: &str) -> Result<(&'a str, &'a str), String> {
    text.split_once('=')
        .ok_or_else(|| format!("{text:?} is not {form}"))
}

fn parse_metadata(text: &str) -> Result<(String, String), String> {
    let (key, value) = pair(text, "KEY=VALUE")?;
    Ok((key.to_owned(), value.to_owned()))
}

fn parse_metric(text: &str) -> Result<(String, f64), String> {
    let (name, value) = pair(text, "NAME=VALUE")?;
    let number: f64 = value
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))?;
    Ok((name.to_owned(), number))
}

fn main() -> ExitCode {
    countersign_server::memory::keep_the_heap_small();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts")
        .block_on(start())
}

async fn start() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Audit {
        action:
            AuditAction::Verify {
                bundle,
                key,
                seen,
                trust_bundle_key,
                accept_unsigned_before,
                provider_keys,
            },
    }) = &cli.command
    {
        return countersign_server::audit::verify_offline(
            &countersign_server::audit::OfflineCheck {
                bundle,
                key: key.as_deref(),
                seen: seen.as_deref(),
                trust_bundle_key: *trust_bundle_key,
                accept_unsigned_before: *accept_unsigned_before,
                provider_keys: provider_keys.as_deref(),
            },
        );
    }
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("countersign: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("countersign: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A command's failure: start-up's own, or any command's message.
type Failure = Box<dyn std::error::Error>;

async fn run(command: Command, config: Config) -> Result<(), Failure> {
    if let Command::Token { name, scopes } = &command {
        return Ok(print_new_token(name, scopes)?);
    }
    if config.gxp && matches!(command, Command::Seed { .. }) {
        return Err("`countersign seed` registers versions nobody built, under a made-up registrant: the GxP profile (COUNTERSIGN_GXP=true) refuses it".into());
    }
    let backing = backend::open_backend(&config).await?;
    let services = backing.services.clone();
    if command.is_kept() {
        countersign_server::operator::record_command(&services, backing.aws_caller().await).await?;
    }
    match command {
        Command::Serve => serve(config, backing).await,
        Command::Iq => {
            let checks = countersign_server::installation::qualify(&config, &backing).await;
            if countersign_server::installation::report(&checks) {
                Ok(())
            } else {
                Err("the installation qualification failed: see each FAIL above".into())
            }
        }
        Command::Resolve { group, environment } => {
            let group = GroupName::parse(&group).map_err(|e| e.to_string())?;
            let environment = services
                .environment(&environment)
                .map_err(|e| e.to_string())?;
            let deployment = services
                .resolve(&group, &environment)
                .await
                .map_err(|e| match e {
                    countersign_domain::service::ServiceError::Drift(drift) => {
                        format!("drift: {} Not resolved.", drift.explain())
                    }
                    e => e.to_string(),
                })?;
            // As the API: what no longer matches its signature is not resolved.
            if !services
                .still_signed(&deployment)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!(
                    "signature_mismatch: version {} of {group} changed in the registry after it was signed for {environment}",
                    deployment.version
                )
                .into());
            }
            print_json(&countersign_domain::DeploymentDocument::from(&deployment))
        }
        Command::Register {
            group,
            image_uri,
            model_data_url,
            description,
            metrics,
            metadata,
            registered_by,
            name,
            email,
        } => {
            let group = GroupName::parse(&group).map_err(|e| e.to_string())?;
            let registration = Registration::new(
                group,
                &image_uri,
                &model_data_url,
                &description,
                metrics.into_iter().collect::<Metrics>(),
                Person {
                    subject: registered_by,
                    name,
                    email,
                },
            )
            .and_then(|registration| {
                registration.with_metadata(
                    metadata.into_iter().collect(),
                    services.policy().environments(),
                )
            })
            .map_err(|e| e.to_string())?;
            let version = services
                .register(registration)
                .await
                .map_err(|e| e.to_string())?;
            print_json(&version_json(&services, &config.public_url, &version))
        }
        Command::Token { .. } => unreachable!("handled before the backend opens"),
        Command::Sessions {
            action: SessionsAction::Revoke { person, all },
        } => {
            let whose = match person {
                Some(person) if !all => Revoked::Person(
                    normalised_identifier(&person).ok_or("--person needs an identifier")?,
                ),
                _ => Revoked::Everyone,
            };
            let revocation = Revocation {
                issued_before: time::OffsetDateTime::now_utc(),
                whose,
            };
            backing
                .revocations
                .revoke(&revocation)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "revoked: sessions of {} begun until now end on every replica within COUNTERSIGN_REVOCATION_CHECK_SECONDS",
                revocation.whose.key()
            );
            Ok(())
        }
        #[cfg(feature = "aws")]
        Command::Migrate { from_ssm: _ } => {
            let figures = backing.migrate_from_ssm().await?;
            print!("{figures}");
            if figures.complete() {
                println!("everything in SSM is in the table; the moved parameters may be deleted (README, \"Moving from the SSM layout\")");
                Ok(())
            } else {
                Err("some records did not arrive in the table: run the move again, and see the portal's log".into())
            }
        }
        Command::Audit { action } => match action {
            AuditAction::Export { group, from, to } => {
                let group = GroupName::parse_trail(&group).map_err(|e| e.to_string())?;
                let period = countersign_server::audit::Period { from, to };
                let bundle = backing
                    .audit
                    .bundle(&group, period)
                    .await
                    .map_err(|e| e.to_string())?;
                print_json(&bundle)
            }
            AuditAction::Archive { out, from, to } => {
                let period = countersign_server::audit::Period { from, to };
                let archived = countersign_server::audit::archive::write(
                    &services,
                    &backing.audit,
                    &out,
                    period,
                )
                .await?;
                for (group, entries) in &archived.trails {
                    println!("{group}: {entries} entries");
                }
                println!(
                    "archived {} trails in {} files under {}",
                    archived.trails.len(),
                    archived.files,
                    out.display()
                );
                Ok(())
            }
            AuditAction::PublicKey => {
                println!("{}", backing.audit.notary.public_key());
                Ok(())
            }
            AuditAction::Verify { .. } => unreachable!("handled before the configuration loads"),
        },
        Command::Seed {
            group,
            versions,
            groups,
            registrant,
        } => {
            demo::seed_versions(&services, &group, groups, versions, &registrant).await?;
            println!("registered {versions} versions in each of {groups} groups ({group}…)");
            Ok(())
        }
    }
}

fn print_new_token(name: &str, scopes: &[String]) -> Result<(), String> {
    use countersign_server::http::api::auth::{new_static_token, ApiScope};
    let name = name.trim();
    if name.is_empty() || name.contains([':', ',', '+']) || name.contains(char::is_whitespace) {
        return Err(format!(
            "the name {name:?} must be non-empty, without spaces, ':', ',' or '+'"
        ));
    }
    for scope in scopes {
        if ApiScope::parse(scope.trim()).is_none() {
            return Err(format!(
                "{scope:?} is not a scope; use register, report, resolve"
            ));
        }
    }
    let scopes: Vec<&str> = scopes.iter().map(|s| s.trim()).collect();
    let (token, digest) = new_static_token();
    println!("token (give this to the pipeline; it is shown once): {token}");
    println!(
        "COUNTERSIGN_API_TOKENS entry: {name}:{}:{digest}",
        scopes.join("+")
    );
    Ok(())
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)?;
    println!("{text}");
    Ok(())
}

async fn serve(config: Config, backing: backend::Backing) -> Result<(), Failure> {
    if config.demo_data
        && demo::seed_if_empty(&backing.services)
            .await
            .map_err(|e| format!("cannot add demo data: {e}"))?
    {
        tracing::info!("added demo model versions");
    }
    countersign_server::startup::record_start(&config, &backing.services).await?;
    background::start_background_work(&config, &backing)?;
    let sign_in = auth::sign_in(
        &config.sign_in,
        &config.public_url,
        &config.policy,
        &backing,
    )
    .await?;
    let options = application::leptos_options(&config);
    let app = application::router(&config, &backing, sign_in, options);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {} (COUNTERSIGN_LISTEN): {e}",
                config.listen
            )
        })?;
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    println!(
        "Countersign is serving {} on http://{}",
        config.public_url, config.listen
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}
