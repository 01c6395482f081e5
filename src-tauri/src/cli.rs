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
    /// The role of this device when hosting: kiosk, barista, display or manager.
    #[arg(long, value_parser = parse_role)]
    pub role: Option<Role>,
    /// Join the hub at this URL (with --pair).
    #[arg(long, requires = "pair")]
    pub hub: Option<String>,
    /// The six-digit pairing code from the hub.
    #[arg(long, requires = "hub")]
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
        } else if let (Some(hub), Some(code)) = (&self.hub, &self.pair) {
            Plan::Join {
                hub: hub.clone(),
                code: code.clone(),
            }
        } else if self.host {
            Plan::Host { role: self.role }
        } else {
            Plan::Remembered { role: self.role }
        }
    }
}
