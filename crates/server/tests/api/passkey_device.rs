//! A software passkey for the HTTP tests: webauthn-authenticator-rs's `SoftPasskey`
//! behind the same JSON a browser's script sends. It keeps no resident keys, so for a
//! sign-in without a name the test does what a discoverable authenticator does itself:
//! it answers with its own credential and the user handle it was registered with.

use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

/// The origin the test server's relying party expects (dev default for port 8080).
pub const ORIGIN: &str = "http://localhost:8080";

pub struct Device {
    authenticator: WebauthnAuthenticator<SoftPasskey>,
    origin: Url,
    /// base64url, as `PublicKeyCredential.id`.
    pub credential_id: Option<String>,
    pub user_handle: Option<String>,
    /// The credential's public key (COSE x and y), to look for in storage.
    pub public_key: Vec<Vec<u8>>,
}

impl Device {
    pub fn new() -> Self {
        Self::at(ORIGIN)
    }

    /// A device whose browser runs at `origin` (a phishing page, a wrong port).
    pub fn at(origin: &str) -> Self {
        Self {
            // `true`: it claims user verification (the server requires it).
            authenticator: WebauthnAuthenticator::new(SoftPasskey::new(true)),
            origin: Url::parse(origin).unwrap(),
            credential_id: None,
            user_handle: None,
            public_key: Vec::new(),
        }
    }

    /// The same keys, now used by a browser at `origin`.
    pub fn retarget(&mut self, origin: &str) {
        self.origin = Url::parse(origin).unwrap();
    }

    /// Answers `options` of `navigator.credentials.create` with a new credential.
    pub fn register(&mut self, options: &Value) -> Value {
        let mut options = options.clone();
        // The soft authenticator has no resident storage: it refuses "required".
        let sel = &mut options["publicKey"]["authenticatorSelection"];
        assert_eq!(
            sel["residentKey"], "required",
            "sign-in alone needs a discoverable passkey"
        );
        sel["residentKey"] = "discouraged".into();
        sel["requireResidentKey"] = false.into();
        self.user_handle = options["publicKey"]["user"]["id"]
            .as_str()
            .map(str::to_owned);
        let ccr: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let cred = self
            .authenticator
            .do_registration(self.origin.clone(), ccr)
            .expect("the soft passkey registers");
        self.credential_id = Some(cred.id.clone());
        let value = serde_json::to_value(&cred).unwrap();
        self.public_key = public_key_of(&value);
        value
    }

    /// Answers `options` of `navigator.credentials.get`.
    pub fn assert(&mut self, options: &Value) -> Value {
        let mut options = options.clone();
        let id = self.credential_id.clone().expect("registered first");
        let discoverable = options["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty());
        if discoverable {
            options["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": id}]);
        }
        let rcr: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let cred = self
            .authenticator
            .do_authentication(self.origin.clone(), rcr)
            .expect("the soft passkey signs");
        let mut value = serde_json::to_value(&cred).unwrap();
        if discoverable {
            value["response"]["userHandle"] = self.user_handle.clone().into();
        }
        value
    }
}

/// The x and y coordinates of the credential's P-256 key, from the attestation
/// object's authenticator data (the COSE key's -2 and -3 members).
fn public_key_of(registration: &Value) -> Vec<Vec<u8>> {
    use base64::Engine;
    let att = registration["response"]["attestationObject"]
        .as_str()
        .unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(att)
        .unwrap_or_default();
    // Each coordinate is a 32-byte CBOR byte string: 0x58 0x20 then the bytes, after
    // the keys 0x21 (-2) and 0x22 (-3).
    let mut out = Vec::new();
    for key in [0x21u8, 0x22] {
        if let Some(at) = bytes.windows(3).position(|w| w == [key, 0x58, 0x20]) {
            out.push(bytes[at + 3..at + 35].to_vec());
        }
    }
    out
}
