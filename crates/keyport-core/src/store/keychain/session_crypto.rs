//! The Secret Service's encrypted session, `dh-ietf1024-sha256-aes128-cbc-pkcs7`: a Diffie-Hellman
//! agreement in the 1024-bit MODP group of RFC 2409 (generator 2), HKDF-SHA256 of the shared
//! value (no salt, no info) to a 128-bit AES key, and AES-128-CBC with PKCS#7 padding for each
//! secret, under an IV sent beside it.
//!
//! Why Keyport does this itself rather than through the `secret-service` crate: that crate raises
//! 2 to a 1024-bit exponent with its own square-and-multiply, ~5 ms a lookup. Here the exponent is
//! 256 random bits, twice the 80-bit strength of the group itself (the size RFC 7919 §5.2 asks
//! for), raised with num-bigint's Montgomery `modpow`: ~0.3 ms. The session only keeps the secret
//! off the bus in the clear; anyone able to read this user's session bus could as well ask the
//! keychain for it.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use num_bigint::BigUint;
use zeroize::Zeroizing;

/// The algorithm's name in `OpenSession`.
pub const ALGORITHM: &str = "dh-ietf1024-sha256-aes128-cbc-pkcs7";

/// RFC 2409 §6.2, the Second Oakley Group.
const PRIME_HEX: &[u8] = b"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576\
625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381\
FFFFFFFFFFFFFFFF";

const PRIVATE_BYTES: usize = 32;
const GROUP_BYTES: usize = 128;

fn prime() -> BigUint {
    BigUint::parse_bytes(PRIME_HEX, 16).expect("the group's prime is hexadecimal")
}

/// Our half of an agreement: the public value goes to `OpenSession`, the answer to [`Self::agree`].
pub struct KeyPair {
    private: BigUint,
    public: Vec<u8>,
}

impl KeyPair {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; PRIVATE_BYTES]);
        getrandom::fill(bytes.as_mut())?;
        let private = BigUint::from_bytes_be(bytes.as_ref());
        let public = BigUint::from(2u32).modpow(&private, &prime()).to_bytes_be();
        Ok(Self { private, public })
    }

    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// The session key, from the service's public value; `None` when that value is not one a
    /// real peer can send (0, 1, p-1 or out of range would make the key guessable).
    pub fn agree(&self, peer_public: &[u8]) -> Option<SessionKey> {
        let p = prime();
        let peer = BigUint::from_bytes_be(peer_public);
        let one = BigUint::from(1u32);
        if peer <= one || peer >= &p - &one {
            return None;
        }
        let shared = Zeroizing::new(peer.modpow(&self.private, &p).to_bytes_be());
        // The shared value enters the KDF as the group's full width, leading zeros kept.
        let mut ikm = Zeroizing::new(vec![0u8; GROUP_BYTES - shared.len()]);
        ikm.extend_from_slice(&shared);
        let mut key = [0u8; 16];
        hkdf::Hkdf::<sha2::Sha256>::new(None, &ikm)
            .expand(&[], &mut key)
            .expect("16 bytes is a valid HKDF-SHA256 length");
        Some(SessionKey(Zeroizing::new(key)))
    }
}

/// The AES key of one session. Never printed.
pub struct SessionKey(Zeroizing<[u8; 16]>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(redacted)")
    }
}

impl SessionKey {
    /// `(iv, ciphertext)` for `secret`, under a fresh random IV.
    pub fn encrypt(&self, secret: &[u8]) -> Result<(Vec<u8>, Vec<u8>), getrandom::Error> {
        let mut iv = [0u8; 16];
        getrandom::fill(&mut iv)?;
        let sealed = cbc::Encryptor::<aes::Aes128>::new_from_slices(self.0.as_ref(), &iv)
            .expect("a 16-byte key and IV")
            .encrypt_padded_vec::<Pkcs7>(secret);
        Ok((iv.to_vec(), sealed))
    }

    /// The secret in `ciphertext`; `None` when it does not decrypt under this key.
    pub fn decrypt(&self, iv: &[u8], ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let decryptor = cbc::Decryptor::<aes::Aes128>::new_from_slices(self.0.as_ref(), iv).ok()?;
        decryptor
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .ok()
            .map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_parties_agree_on_one_key_and_a_secret_crosses() {
        let (ours, theirs) = (KeyPair::generate().unwrap(), KeyPair::generate().unwrap());
        let a = ours.agree(theirs.public()).unwrap();
        let b = theirs.agree(ours.public()).unwrap();
        assert_eq!(a.0.as_ref(), b.0.as_ref());
        let (iv, sealed) = a.encrypt(b"the refresh token").unwrap();
        assert_ne!(sealed, b"the refresh token");
        assert_eq!(b.decrypt(&iv, &sealed).unwrap().as_slice(), b"the refresh token");
        // Another session's key does not open it.
        let other = KeyPair::generate().unwrap().agree(theirs.public()).unwrap();
        assert_ne!(
            other.decrypt(&iv, &sealed).as_deref().map(Vec::as_slice),
            Some(&b"the refresh token"[..])
        );
    }

    #[test]
    fn degenerate_public_values_are_refused() {
        let ours = KeyPair::generate().unwrap();
        let p = prime();
        for bad in [
            BigUint::from(0u32),
            BigUint::from(1u32),
            &p - 1u32,
            p.clone(),
            &p + 5u32,
        ] {
            assert!(ours.agree(&bad.to_bytes_be()).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_key_never_prints() {
        let key = KeyPair::generate()
            .unwrap()
            .agree(KeyPair::generate().unwrap().public())
            .unwrap();
        assert_eq!(format!("{key:?}"), "SessionKey(redacted)");
    }

    #[test]
    fn the_prime_is_the_1024_bit_oakley_group() {
        let p = prime();
        assert_eq!(p.bits(), 1024);
        // RFC 2409's group is a safe prime: (p - 1) / 2 is odd.
        assert!(((&p - 1u32) >> 1u32).bit(0));
    }
}
