//! Builds the application on a bound listener (port 0 in tests, zero2prod style) and
//! serves it until a shutdown signal.

use crate::config::ServerConfig;
use crate::routes;
use crate::state::AppState;
use offboard_core::DevClock;
use offboard_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
}

impl Application {
    /// Binds `config.listen`. `dev_clock` is honoured only in dev mode.
    pub async fn build(
        config: ServerConfig,
        store: Store,
        dev_clock: Option<Arc<DevClock>>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.listen).await?;
        let address = listener.local_addr()?;
        let dev_clock = if config.is_dev() { dev_clock } else { None };
        let state = AppState::new(store, config, dev_clock);
        Ok(Self {
            listener,
            address,
            state,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets in-flight
    /// requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = routes::router(self.state.clone());
        let housekeeping = tokio::spawn(housekeeping(self.state.clone()));
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        housekeeping.abort();
        served
    }
}

/// How often expired tombstones, retained records and old login attempts are purged.
/// (The job runner of issue 7 will take this over, with leases across instances; the purge
/// is idempotent, so several instances running it meanwhile is harmless.)
pub const HOUSEKEEPING_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

async fn housekeeping(state: crate::state::AppState) {
    let mut tick = tokio::time::interval(HOUSEKEEPING_EVERY);
    loop {
        tick.tick().await;
        match state.store.purge_expired(state.now()).await {
            Ok(report) if report != offboard_store::PurgeReport::default() => {
                tracing::info!(?report, "purged expired records");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, "housekeeping failed; it runs again later"),
        }
        // Mail the final step queued but could not send yet (the deletion notice).
        crate::deletion::send_queued_mail(&state).await;
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}
