//! Virtual-time simulator. Not built yet: see issue 3.
