//! Address converters: `ipmask`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::value::{SampleType, Value};

/// An address converter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// `ipmask(mask4[,mask6])`: the address's network; an IPv6 address
    /// without `mask6` gives no sample.
    IpMask {
        /// The IPv4 mask.
        v4: Ipv4Addr,
        /// The IPv6 mask, if given.
        v6: Option<Ipv6Addr>,
    },
}

impl Network {
    /// The converter called `name`, or `None` when it is not of this family.
    pub fn parse(name: &str, args: &[String]) -> Option<Result<Network, String>> {
        if name != "ipmask" {
            return None;
        }
        Some((|| {
            let v4 = args
                .first()
                .filter(|a| !a.is_empty())
                .ok_or("missing argument: an IPv4 mask")?;
            let v4 = mask4(v4).ok_or_else(|| format!("'{v4}' is not an IPv4 mask"))?;
            let v6 = match args.get(1).filter(|a| !a.is_empty()) {
                Some(m) => Some(mask6(m).ok_or_else(|| format!("'{m}' is not an IPv6 mask"))?),
                None => None,
            };
            Ok(Network::IpMask { v4, v6 })
        })())
    }

    /// (input, output) types.
    pub fn types(&self) -> (SampleType, SampleType) {
        (SampleType::Addr, SampleType::Addr)
    }

    /// The converter applied to an address.
    pub fn apply<'r>(&self, value: Value<'r>) -> Option<Value<'r>> {
        let Network::IpMask { v4, v6 } = self;
        match value {
            Value::Ip(IpAddr::V4(ip)) => Some(Value::Ip(IpAddr::V4(Ipv4Addr::from(
                u32::from(ip) & u32::from(*v4),
            )))),
            Value::Ip(IpAddr::V6(ip)) => Some(Value::Ip(IpAddr::V6(Ipv6Addr::from(
                u128::from(ip) & u128::from((*v6)?),
            )))),
            _ => None,
        }
    }
}

/// A prefix length (`24`) or a dotted mask (`255.255.255.0`).
fn mask4(text: &str) -> Option<Ipv4Addr> {
    match text.parse::<u32>() {
        Ok(bits) if bits <= 32 => {
            Some(Ipv4Addr::from(u32::MAX.checked_shl(32 - bits).unwrap_or(0)))
        }
        Ok(_) => None,
        Err(_) => text.parse().ok(),
    }
}

/// A prefix length (`64`) or an IPv6 mask.
fn mask6(text: &str) -> Option<Ipv6Addr> {
    match text.parse::<u32>() {
        Ok(bits) if bits <= 128 => Some(Ipv6Addr::from(
            u128::MAX.checked_shl(128 - bits).unwrap_or(0),
        )),
        Ok(_) => None,
        Err(_) => text.parse().ok(),
    }
}
