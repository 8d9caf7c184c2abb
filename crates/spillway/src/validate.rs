//! `spillway validate FILE...`

use std::path::PathBuf;
use std::process::ExitCode;

use spillway_core::config::{self, MAX_DOCUMENT_BYTES};

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Configuration documents (the `config.yaml` key of the `spillway` ConfigMap).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Exit codes: 0 every file valid, 1 some file invalid, 2 some file unreadable.
pub fn run(args: &ValidateArgs) -> ExitCode {
    let mut worst = 0u8;
    for path in &args.files {
        let code = validate_file(path);
        worst = worst.max(code);
    }
    ExitCode::from(worst)
}

fn validate_file(path: &PathBuf) -> u8 {
    let shown = path.display();
    let bytes = match read_bounded(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{shown}: cannot read: {e}");
            return 2;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "{shown}: not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            );
            return 1;
        }
    };
    match config::load(&text) {
        Err(invalid) => {
            eprintln!(
                "{shown}: invalid ({} problem{})",
                invalid.errors.len(),
                plural(invalid.errors.len())
            );
            for e in &invalid.errors {
                eprintln!("  {e}");
            }
            1
        }
        Ok(loaded) => {
            println!("{shown}: cluster {}", loaded.global.cluster.id);
            for p in &loaded.policies {
                match &p.result {
                    Ok(policy) => println!("  {}", summary(policy)),
                    Err(errors) => {
                        let name = p.name.as_deref().unwrap_or("<unnamed>");
                        println!(
                            "  policy {name} (policies[{}]): DISABLED, {} problem{}",
                            p.index,
                            errors.len(),
                            plural(errors.len())
                        );
                        for e in errors {
                            println!("    {e}");
                        }
                    }
                }
            }
            if loaded.policies.is_empty() {
                println!("  no policies");
            }
            if loaded.is_fully_valid() { 0 } else { 1 }
        }
    }
}

fn summary(p: &config::Policy) -> String {
    let burst = match &p.burst {
        None => "burst off".to_string(),
        Some(b) => {
            let cost = b
                .max_hourly_cost
                .map(|c| format!(", ≤ {c} {}/h", p.pricing.currency))
                .unwrap_or_default();
            format!(
                "burst ≤ {} in {} ({:?}{cost})",
                b.max_replicas,
                b.locations.join(","),
                b.vm_overflow
            )
        }
    };
    format!(
        "policy {}: {}/{} {}, replicas {}..{}, {} metric{}, every {}s, {burst}",
        p.name,
        p.target.namespace,
        p.target.kind,
        p.target.name,
        p.min_replicas,
        p.max_replicas,
        p.metrics.len(),
        plural(p.metrics.len()),
        p.interval.as_secs()
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Reads at most one byte past the limit, so a huge file is refused without being loaded.
fn read_bounded(path: &PathBuf) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    file.take(MAX_DOCUMENT_BYTES as u64 + 1).read_to_end(&mut buf)?;
    Ok(buf)
}
