//! Hashes and digests of a sample's bytes: HAProxy's own 32-bit hashes
//! (`djb2`, `sdbm`, `wt6`, `crc32`, `crc32c`, with its optional
//! avalanche), xxHash, and the cryptographic digests (`sha1`, `sha2`,
//! `digest`, `hmac`), with `secure_memcmp`.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Digest;
use subtle::ConstantTimeEq;

use super::args::{opt_int_arg, Operand, VarLookup};
use crate::value::{SampleType, Value};

/// A 32-bit hash function of HAProxy's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash32 {
    Djb2,
    Sdbm,
    Wt6,
    Crc32,
    Crc32c,
}

/// A digest algorithm, by OpenSSL's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// A hashing converter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hash {
    /// `djb2`, `sdbm`, `wt6`, `crc32`, `crc32c`, `([avalanche])`.
    Hash32 {
        /// The function.
        function: Hash32,
        /// Whether the result goes through HAProxy's avalanche mix.
        avalanche: bool,
    },
    /// `xxh3([seed])`.
    Xxh3(u64),
    /// `xxh32([seed])`.
    Xxh32(u32),
    /// `xxh64([seed])`.
    Xxh64(u64),
    /// `sha1`, `sha2([bits])`, `digest(algorithm)`.
    Digest(Algorithm),
    /// `hmac(algorithm,key)`: the key base64-encoded, or a variable that
    /// holds it base64-encoded.
    Hmac {
        /// The digest the MAC is built on.
        algorithm: Algorithm,
        /// The key's base64 text, or the variable that holds it.
        key: Operand<String>,
    },
    /// `secure_memcmp(var)`: whether the bytes equal the variable's, in
    /// constant time.
    SecureMemcmp(String),
}

impl Algorithm {
    fn named(name: &str) -> Option<Algorithm> {
        Some(match name.to_ascii_lowercase().as_str() {
            "md5" => Algorithm::Md5,
            "sha1" => Algorithm::Sha1,
            "sha224" => Algorithm::Sha224,
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            _ => return None,
        })
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Algorithm::Md5 => md5::Md5::digest(data).to_vec(),
            Algorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Algorithm::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Algorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Algorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Algorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            // HMAC takes keys of any length.
            let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        match self {
            Algorithm::Md5 => mac::<Hmac<md5::Md5>>(key, data),
            Algorithm::Sha1 => mac::<Hmac<sha1::Sha1>>(key, data),
            Algorithm::Sha224 => mac::<Hmac<sha2::Sha224>>(key, data),
            Algorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(key, data),
            Algorithm::Sha384 => mac::<Hmac<sha2::Sha384>>(key, data),
            Algorithm::Sha512 => mac::<Hmac<sha2::Sha512>>(key, data),
        }
    }
}

impl Hash {
    /// The converter called `name`, or `None` when it is not of this family.
    pub fn parse(name: &str, args: &[String]) -> Option<Result<Hash, String>> {
        let hash32 = |function| {
            opt_int_arg(args, 0, 0, "0 or 1").map(|a| Hash::Hash32 {
                function,
                avalanche: a != 0,
            })
        };
        let seed = || opt_int_arg(args, 0, 0, "a seed");
        let algorithm = |i: usize| {
            let name = args.get(i).map(String::as_str).unwrap_or("");
            Algorithm::named(name).ok_or_else(|| {
                format!("unsupported digest '{name}' (md5, sha1, sha224, sha256, sha384, sha512)")
            })
        };
        Some(match name {
            "djb2" => hash32(Hash32::Djb2),
            "sdbm" => hash32(Hash32::Sdbm),
            "wt6" => hash32(Hash32::Wt6),
            "crc32" => hash32(Hash32::Crc32),
            "crc32c" => hash32(Hash32::Crc32c),
            "xxh3" => seed().map(|s| Hash::Xxh3(s as u64)),
            "xxh32" => seed().map(|s| Hash::Xxh32(s as u32)),
            "xxh64" => seed().map(|s| Hash::Xxh64(s as u64)),
            "sha1" => Ok(Hash::Digest(Algorithm::Sha1)),
            "sha2" => match opt_int_arg(args, 0, 256, "224, 256, 384 or 512") {
                Ok(224) => Ok(Hash::Digest(Algorithm::Sha224)),
                Ok(256) => Ok(Hash::Digest(Algorithm::Sha256)),
                Ok(384) => Ok(Hash::Digest(Algorithm::Sha384)),
                Ok(512) => Ok(Hash::Digest(Algorithm::Sha512)),
                Ok(n) => Err(format!("Unsupported number of bits: '{n}'.")),
                Err(e) => Err(e),
            },
            "digest" => algorithm(0).map(Hash::Digest),
            "hmac" => (|| {
                let algorithm = algorithm(0)?;
                let key = args
                    .get(1)
                    .filter(|k| !k.is_empty())
                    .ok_or("missing argument: a base64 key or a variable")?;
                let key = Operand::text(key);
                if let Operand::Const(k) = &key {
                    STANDARD
                        .decode(k)
                        .map_err(|_| format!("'{k}' is not a base64 key"))?;
                }
                Ok(Hash::Hmac { algorithm, key })
            })(),
            "secure_memcmp" => match args.first().filter(|a| super::args::is_var_name(a)) {
                Some(var) => Ok(Hash::SecureMemcmp(var.clone())),
                None => Err("missing argument: a variable name".to_owned()),
            },
            _ => return None,
        })
    }

    /// (input, output) types.
    pub fn types(&self) -> (SampleType, SampleType) {
        use SampleType::*;
        match self {
            Hash::Hash32 { .. } | Hash::Xxh3(_) | Hash::Xxh32(_) | Hash::Xxh64(_) => (Bin, Sint),
            Hash::Digest(_) | Hash::Hmac { .. } => (Bin, Bin),
            Hash::SecureMemcmp(_) => (Bin, Bool),
        }
    }

    /// The variables the converter reads.
    pub fn variables(&self) -> Vec<&str> {
        match self {
            Hash::Hmac { key, .. } => key.var_name().into_iter().collect(),
            Hash::SecureMemcmp(var) => vec![var.as_str()],
            _ => Vec::new(),
        }
    }

    /// The converter applied to a binary sample.
    pub fn apply<'r>(&self, value: Value<'r>, vars: &dyn VarLookup) -> Option<Value<'r>> {
        let data = value.bytes();
        Some(match self {
            Hash::Hash32 {
                function,
                avalanche,
            } => {
                let h = hash32(*function, &data);
                Value::Int(i64::from(if *avalanche { full_hash(h) } else { h }))
            }
            Hash::Xxh3(seed) => {
                Value::Int(xxhash_rust::xxh3::xxh3_64_with_seed(&data, *seed) as i64)
            }
            Hash::Xxh32(seed) => Value::Int(i64::from(xxhash_rust::xxh32::xxh32(&data, *seed))),
            Hash::Xxh64(seed) => Value::Int(xxhash_rust::xxh64::xxh64(&data, *seed) as i64),
            Hash::Digest(algorithm) => Value::Bin(Cow::Owned(algorithm.digest(&data))),
            Hash::Hmac { algorithm, key } => {
                let key = STANDARD.decode(key.get(vars)?).ok()?;
                Value::Bin(Cow::Owned(algorithm.hmac(&key, &data)))
            }
            Hash::SecureMemcmp(var) => {
                let other = vars.var(var)?;
                let other = other.bytes();
                Value::Bool(data.len() == other.len() && bool::from(data.ct_eq(&other)))
            }
        })
    }
}

/// One of HAProxy's 32-bit hashes of `data` (src/hash.c).
pub fn hash32(function: Hash32, data: &[u8]) -> u32 {
    match function {
        Hash32::Djb2 => data.iter().fold(5381u32, |h, b| {
            h.wrapping_mul(33).wrapping_add(u32::from(*b))
        }),
        Hash32::Sdbm => data.iter().fold(0u32, |h, b| {
            u32::from(*b)
                .wrapping_add(h << 6)
                .wrapping_add(h << 16)
                .wrapping_sub(h)
        }),
        Hash32::Wt6 => wt6(data),
        Hash32::Crc32 => crc32fast::hash(data),
        Hash32::Crc32c => crc::Crc::<u32>::new(&crc::CRC_32_ISCSI).checksum(data),
    }
}

/// HAProxy's `hash_wt6`: two 32-bit states rotated by amounts the data
/// itself picks.
fn wt6(data: &[u8]) -> u32 {
    let (mut h0, mut h1) = (0xa53c_965a_u32, 0x5ca6_953a_u32);
    let (mut step0, mut step1) = (6u32, 18u32);
    for b in data {
        let t = u32::from(*b);
        h0 = !(h0 ^ t);
        h1 = !(h1.wrapping_add(t));
        let t = h1.rotate_left(step0);
        h1 = h0.rotate_left(step1);
        h0 = t;
        let t = ((h0 >> 16) ^ h1) & 0xffff;
        step0 = t & 0x1f;
        step1 = t >> 11;
    }
    h0 ^ h1
}

/// Bob Jenkins' full avalanche mix then a multiplication, HAProxy's
/// `full_hash`.
pub fn full_hash(a: u32) -> u32 {
    let mut a = a;
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    // Spread over the whole range: a large prime near 3/4 of 2^32.
    a.wrapping_mul(3_221_225_473)
}
