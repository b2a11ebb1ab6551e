//! What the commands share that is the binary's own: the runtime and the signals that stop it.

/// Runs `work` on a multi-threaded tokio runtime.
pub(crate) fn block_on(work: impl Future<Output = eyre::Result<()>>) -> eyre::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(work)
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM, the signals people and service managers stop a node
/// with, and says that it is stopping.
pub(crate) async fn until_stopped() -> eyre::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result?,
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    eprintln!("\nShutting down...");
    Ok(())
}
