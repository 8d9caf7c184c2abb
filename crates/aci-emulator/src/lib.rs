//! ARM-compatible ACI emulator with fault injection. Not built yet: see issue 4.
