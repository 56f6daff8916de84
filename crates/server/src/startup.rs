//! Builds the application on a bound listener (port 0 in tests, zero2prod style) and
//! serves it until a shutdown signal.

use crate::routes;
use offboard_app::config::ServerConfig;
use offboard_app::AppState;
use offboard_core::DevClock;
use offboard_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The application's state with the edge's outgoing HTTP client. Fails when that client
/// cannot be built, rather than run with one that would follow redirects.
pub fn app_state(
    store: Store,
    config: ServerConfig,
    dev_clock: Option<Arc<DevClock>>,
) -> std::io::Result<AppState> {
    let http = crate::http::outbound::ReqwestClient::new().map_err(|err| {
        std::io::Error::other(format!(
            "the outgoing HTTP client could not be built: {err}"
        ))
    })?;
    Ok(AppState::new(store, config, dev_clock, Arc::new(http)))
}

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
        let state = app_state(store, config, dev_clock)?;
        seal_legacy_secrets(&state)
            .await
            .map_err(std::io::Error::other)?;
        Ok(Self {
            listener,
            address,
            state,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests
    /// finish, lets the job runner finish the jobs in hand and release its leases.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        offboard_app::webhooks::sync_settings_endpoints(&self.state)
            .await
            .map_err(std::io::Error::other)?;
        let app = routes::router(self.state.clone());
        let (stop_jobs, jobs_stopped) = watch::channel(false);
        let runner = self.state.config.jobs.run.then(|| {
            tokio::spawn(offboard_app::jobs::run(
                self.state.clone(),
                self.state.job_wake.clone(),
                jobs_stopped,
            ))
        });
        let limits = self.state.config.connections;
        let served = crate::http::serve::serve(self.listener, app, limits, shutdown).await;
        let _ = stop_jobs.send(true);
        if let Some(runner) = runner {
            let _ = runner.await;
        }
        served
    }
}

/// `offboard worker`: only the job runner, until `shutdown` resolves.
pub async fn run_worker(
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    offboard_app::webhooks::sync_settings_endpoints(&state).await?;
    let (stop_jobs, jobs_stopped) = watch::channel(false);
    let runner = tokio::spawn(offboard_app::jobs::run(
        state.clone(),
        state.job_wake.clone(),
        jobs_stopped,
    ));
    shutdown.await;
    let _ = stop_jobs.send(true);
    runner.await?;
    Ok(())
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

/// R20: authenticator secrets written before they were sealed are sealed at start-up,
/// so no database keeps one in plaintext after an upgrade.
async fn seal_legacy_secrets(state: &AppState) -> Result<(), offboard_store::StoreError> {
    let unsealed = state.store.unsealed_factor_secrets().await?;
    for secret in &unsealed {
        let sealed = offboard_core::totp::seal_secret(
            &state.config.keys.secrets,
            &secret.owner,
            &secret.secret,
        );
        state.store.seal_factor_secret(secret, &sealed).await?;
    }
    if !unsealed.is_empty() {
        tracing::info!(
            n = unsealed.len(),
            "sealed authenticator secrets stored in plaintext by an earlier version"
        );
    }
    Ok(())
}
