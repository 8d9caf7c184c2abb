//! A fixed token, for tests and local tools.

use crate::{AccessToken, TokenFuture, TokenProvider};

#[derive(Debug, Clone)]
pub struct StaticTokenProvider {
    token: AccessToken,
}

impl StaticTokenProvider {
    pub fn new(token: AccessToken) -> Self {
        StaticTokenProvider { token }
    }
}

impl TokenProvider for StaticTokenProvider {
    fn token<'a>(&'a self, _scope: &'a str) -> TokenFuture<'a> {
        let t = self.token.clone();
        Box::pin(async move { Ok(t) })
    }
}
