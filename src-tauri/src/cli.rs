//! The command line.

use std::path::PathBuf;

use clap::Parser;
use countertop_protocol::Role;

use crate::launch::Plan;

/// Countertop: kiosk, barista board and now-serving board for cafés.
#[derive(Debug, Clone, Parser)]
#[command(name = "countertop", version)]
pub struct Args {
    /// Host a hub with the demo café here and open a kiosk and a barista
    /// window side by side.
    #[arg(long, conflicts_with_all = ["host", "hub"])]
    pub demo: bool,
    /// Host the hub in this app (other devices on the LAN can join it).
    #[arg(long, conflicts_with = "hub")]
    pub host: bool,
    /// When hosting: serve other devices on the LAN (over TLS, on the port
    /// after --port's 3001 → 3443), remembered for the next start.
    #[arg(long, conflicts_with_all = ["hub", "local"])]
    pub lan: bool,
    /// When hosting: serve this computer only (loopback), remembered.
    #[arg(long, conflicts_with = "hub")]
    pub local: bool,
    /// When hosting: the hub's port (default 3001, or as remembered). The hub
    /// keeps its port: if another program has it, Countertop says so.
    #[arg(long, conflicts_with = "hub")]
    pub port: Option<u16>,
    /// The role of this device when hosting: kiosk, barista, display or manager.
    #[arg(long, value_parser = parse_role)]
    pub role: Option<Role>,
    /// Join the hub at this URL (with --pair); or give --pair the pairing
    /// link from the manager's screen (countertop://pair?…) with no --hub.
    #[arg(long, requires = "pair")]
    pub hub: Option<String>,
    /// The six-digit pairing code from the hub.
    #[arg(long)]
    pub pair: Option<String>,
    /// Keep everything of this instance here (default: the app's data folder).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// With --demo: which screens to open side by side, each its own device
    /// (default kiosk,barista; try manager,display for work orders).
    #[arg(long, requires = "demo", value_delimiter = ',', value_parser = parse_role)]
    pub screens: Vec<Role>,
    /// Open kiosk and signature-display screens in a window instead of
    /// full screen.
    #[arg(long)]
    pub windowed: bool,
    /// Start this device (this --data folder, this --role) when you log in,
    /// full screen: writes or removes the desktop's autostart entry and
    /// exits, with no window (fine over SSH).
    #[arg(long, value_name = "on|off", value_parser = ["on", "off"],
          conflicts_with_all = ["demo", "hub", "pair", "windowed", "screens"])]
    pub start_at_login: Option<String>,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}: kiosk, barista, display or manager"))
}

impl Args {
    pub fn plan(&self) -> Plan {
        if self.demo {
            let mut screens = self.screens.clone();
            if screens.is_empty() {
                screens = vec![Role::Kiosk, Role::Barista];
            }
            screens.dedup();
            Plan::Demo { screens }
        } else if let Some(code) = &self.pair {
            Plan::Join {
                hub: self.hub.clone().unwrap_or_default(),
                code: code.clone(),
            }
        } else if self.host || self.lan || self.local || self.port.is_some() {
            Plan::Host {
                role: self.role,
                lan: (self.lan || self.local).then_some(self.lan),
                port: self.port,
            }
        } else {
            Plan::Remembered { role: self.role }
        }
    }
}
