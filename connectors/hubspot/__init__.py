"""HubSpot connector: client factory, properties, batch reads and writes, associations."""
