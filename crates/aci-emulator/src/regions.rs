//! Region display names, as ARM's provider metadata writes them (`"West Europe"` for
//! `westeurope`): `Providers_Get` lists locations and zone mappings by display name, and clients
//! must match them to the programmatic names they send.

/// Programmatic name → display name of the public Azure regions in
/// [`crate::config::DEFAULT_LOCATIONS`].
const DISPLAY_NAMES: &[(&str, &str)] = &[
    ("australiacentral", "Australia Central"),
    ("australiaeast", "Australia East"),
    ("australiasoutheast", "Australia Southeast"),
    ("brazilsouth", "Brazil South"),
    ("canadacentral", "Canada Central"),
    ("canadaeast", "Canada East"),
    ("centralindia", "Central India"),
    ("centralus", "Central US"),
    ("eastasia", "East Asia"),
    ("eastus", "East US"),
    ("eastus2", "East US 2"),
    ("francecentral", "France Central"),
    ("germanywestcentral", "Germany West Central"),
    ("israelcentral", "Israel Central"),
    ("italynorth", "Italy North"),
    ("japaneast", "Japan East"),
    ("japanwest", "Japan West"),
    ("koreacentral", "Korea Central"),
    ("koreasouth", "Korea South"),
    ("mexicocentral", "Mexico Central"),
    ("northcentralus", "North Central US"),
    ("northeurope", "North Europe"),
    ("norwayeast", "Norway East"),
    ("polandcentral", "Poland Central"),
    ("qatarcentral", "Qatar Central"),
    ("southafricanorth", "South Africa North"),
    ("southcentralus", "South Central US"),
    ("southeastasia", "Southeast Asia"),
    ("southindia", "South India"),
    ("spaincentral", "Spain Central"),
    ("swedencentral", "Sweden Central"),
    ("switzerlandnorth", "Switzerland North"),
    ("uaenorth", "UAE North"),
    ("uksouth", "UK South"),
    ("ukwest", "UK West"),
    ("westcentralus", "West Central US"),
    ("westeurope", "West Europe"),
    ("westus", "West US"),
    ("westus2", "West US 2"),
    ("westus3", "West US 3"),
];

/// The display name of a (normalised) region; a region outside the table keeps its name.
pub fn display_name(region: &str) -> String {
    DISPLAY_NAMES
        .iter()
        .find(|(name, _)| *name == region)
        .map_or_else(|| region.to_owned(), |(_, display)| (*display).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::DEFAULT_LOCATIONS, validate::normalize_region};

    #[test]
    fn every_default_region_has_a_display_name_that_normalises_back() {
        for region in DEFAULT_LOCATIONS {
            let display = display_name(region);
            assert_ne!(&display, region, "{region} has no display name");
            assert_eq!(&normalize_region(&display), region);
        }
        assert_eq!(display_name("mars"), "mars");
    }
}
