//! The `server` binary run as a child process on port 0, its logs
//! collected as it writes them.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    process::{Child, Command},
};

pub const SERVER: &str = env!("CARGO_BIN_EXE_server");

pub struct RunningServer {
    pub child: Child,
    pub address: String,
    logs: Arc<Mutex<String>>,
}

impl RunningServer {
    /// Starts with a clean environment plus `envs`, and waits for the
    /// line announcing the address.
    pub async fn start(
        data_dir: &std::path::Path,
        json_logs: bool,
        envs: &[(&str, &str)],
    ) -> RunningServer {
        let mut child = Command::new(SERVER)
            .env_clear()
            .env("SWITCHYARD_BIND", "127.0.0.1:0")
            .env("SWITCHYARD_DATA_DIR", data_dir)
            .env(
                "SWITCHYARD_LOG_FORMAT",
                if json_logs { "json" } else { "pretty" },
            )
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // Drain stderr all along, so that a chatty server never blocks on a full pipe.
        let logs = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        tokio::spawn(async move {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("server announces itself")
            .unwrap()
            .unwrap_or_else(|| panic!("the server exited: {}", logs.lock().unwrap()));
        let address = line
            .strip_prefix("Switchyard is running at ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        RunningServer {
            child,
            address,
            logs,
        }
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Waits for the process to exit; returns its code and everything it logged.
    pub async fn wait(mut self) -> (i32, String) {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("server exits")
            .unwrap();
        // Let the drain task take the last lines.
        tokio::time::sleep(Duration::from_millis(50)).await;
        (status.code().unwrap_or(-1), self.logs())
    }
}
