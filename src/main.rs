use clap::Parser;
use std::sync::Arc;
use tessera::config::{Command, Config};
use tessera::Application;

fn main() {
    let config = Config::parse();
    tessera::logging::init(&config.log_level, config.log_format);
    tessera::metrics::init();
    if let Some(Command::Setup {
        username,
        password,
        org,
        bucket,
        retention,
        token,
    }) = config.command.clone()
    {
        let req = tessera::domain::setup::SetupRequest {
            username: Some(username),
            password,
            org: Some(org),
            bucket: Some(bucket),
            retention_period_seconds: Some(retention),
            retention_period_hrs: None,
            token,
        };
        match tessera::setup_offline(&config, req) {
            Ok(token) => {
                println!("{token}");
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("tessera setup: {e}");
                std::process::exit(1);
            }
        }
    }
    if let Some(Command::Migrate { from, to, force }) = config.command.clone() {
        match tessera::store::migrate::migrate(&from, &to, force) {
            Ok(summary) => {
                println!("{:<20} {:>8}  checksum", "KIND", "RECORDS");
                for (kind, s) in &summary {
                    println!("{kind:<20} {:>8}  {}", s.count, s.checksum);
                }
                println!("copied and verified: every kind's count and checksum match the source");
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("tessera migrate: {e}");
                std::process::exit(1);
            }
        }
    }
    match config.command.clone() {
        Some(Command::Backup {
            dir,
            host: Some(host),
            token,
        }) => {
            let Some(token) = token else {
                eprintln!("tessera backup: --host needs --token (an operator token)");
                std::process::exit(1);
            };
            client_command(async move { tessera::cli::backup_online(&host, &token, &dir).await })
        }
        Some(Command::Backup {
            dir, host: None, ..
        }) => finish("tessera backup", tessera::backup_offline(&config, &dir)),
        Some(Command::Restore { dir, force }) => {
            finish("tessera restore", tessera::restore(&config, &dir, force))
        }
        Some(Command::Apply {
            files,
            org,
            dry_run,
            stack_id,
            remote,
        }) => client_command(async move {
            tessera::cli::apply(
                &remote,
                &files,
                org.as_deref(),
                dry_run,
                stack_id.as_deref(),
            )
            .await
        }),
        Some(Command::Export {
            dashboards,
            json,
            remote,
        }) => client_command(async move { tessera::cli::export(&remote, &dashboards, json).await }),
        _ => {}
    }
    let service = match tessera::open_service(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tessera: {e}");
            std::process::exit(1);
        }
    };
    tessera::spawn_history_pruning(service.clone(), config.history_prune_interval);
    let sys = actix_web::rt::System::new();
    let serving = service.clone();
    let code = sys.block_on(async move {
        let app = match Application::build(&config, serving) {
            Ok(app) => app,
            Err(e) => {
                eprintln!("tessera: {e}");
                return 1;
            }
        };
        // Tests and scripts read this first line to learn the bound port.
        println!("tessera listening on {}", app.url());
        let handle = app.handle();
        let grace = config.shutdown_timeout;
        actix_web::rt::spawn(async move {
            wait_for_signal().await;
            // Stops accepting at once; requests in flight get `grace`
            // seconds to finish before their connections are closed.
            log::info!("shutting down: letting requests in flight finish (up to {grace} s)");
            handle.stop(true).await;
        });
        match app.run().await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("tessera: {e}");
                1
            }
        }
    });
    drop(sys);
    // Completes the last group commit and gives back what the store holds
    // for this process (a node claim).
    service.close();
    // The worker threads let go of their app data as they wind down; the
    // last reference drops the store (sled flushes and closes its files).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while Arc::strong_count(&service) > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if Arc::strong_count(&service) > 1 {
        log::debug!("workers still hold the store at exit; the process closes it");
    }
    drop(service);
    log::info!("stopped");
    std::process::exit(code);
}

/// Prints a command's output, or its error after `prefix`, and exits.
fn finish(prefix: &str, result: Result<String, String>) -> ! {
    match result {
        Ok(out) => {
            print!("{out}");
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("{prefix}: {e}");
            std::process::exit(1);
        }
    }
}

/// Runs a client command, prints its output and exits.
fn client_command(f: impl std::future::Future<Output = Result<String, String>>) -> ! {
    finish("tessera", actix_web::rt::System::new().block_on(f))
}

async fn wait_for_signal() {
    use actix_web::rt::signal;
    #[cfg(unix)]
    {
        let mut term = match signal::unix::signal(signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = signal::ctrl_c().await;
                return;
            }
        };
        tokio_select(signal::ctrl_c(), term.recv()).await;
    }
    #[cfg(not(unix))]
    {
        let _ = signal::ctrl_c().await;
    }
}

/// Waits for whichever of two futures finishes first.
async fn tokio_select<A: std::future::Future, B: std::future::Future>(a: A, b: B) {
    let a = std::pin::pin!(a);
    let b = std::pin::pin!(b);
    futures_util::future::select(a, b).await;
}
