//! `curves X25519:P-256` and `ecdhe prime256v1`: the key-exchange groups,
//! by OpenSSL's names, among those rustls (the `ring` provider) has.

/// A key-exchange group rustls has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KxGroup {
    /// `X25519`.
    X25519,
    /// `P-256`, OpenSSL's `prime256v1`.
    Secp256r1,
    /// `P-384`, OpenSSL's `secp384r1`.
    Secp384r1,
}

impl KxGroup {
    fn from_name(name: &str) -> Option<KxGroup> {
        Some(match name {
            "X25519" | "x25519" => KxGroup::X25519,
            "P-256" | "prime256v1" | "secp256r1" => KxGroup::Secp256r1,
            "P-384" | "secp384r1" => KxGroup::Secp384r1,
            _ => return None,
        })
    }
}

const OFFERED: &str = "X25519, P-256 (prime256v1), P-384 (secp384r1)";

/// The groups a `curves` list (or, with `single`, an `ecdhe` name) names,
/// in order, and the names rustls has no group for.
pub fn translate(text: &str, single: bool) -> Result<(Vec<KxGroup>, Vec<String>), String> {
    let mut groups = Vec::new();
    let mut unavailable = Vec::new();
    let names: Vec<&str> = if single {
        vec![text]
    } else {
        text.split(':').filter(|n| !n.is_empty()).collect()
    };
    for name in names {
        match KxGroup::from_name(name) {
            Some(g) if !groups.contains(&g) => groups.push(g),
            Some(_) => {}
            None => unavailable.push(name.to_owned()),
        }
    }
    if groups.is_empty() {
        return Err(format!(
            "'{text}' names no key-exchange group rustls (switchyard's TLS library) has; it offers {OFFERED}"
        ));
    }
    Ok((groups, unavailable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        let (g, u) = translate("X448:P-384:prime256v1:secp256r1", false).unwrap();
        assert_eq!(g, [KxGroup::Secp384r1, KxGroup::Secp256r1]);
        assert_eq!(u, ["X448"]);
        assert_eq!(translate("X25519", true).unwrap().0, [KxGroup::X25519]);
        let err = translate("P-521:X448", false).unwrap_err();
        assert!(err.contains("X25519, P-256"), "{err}");
    }
}
