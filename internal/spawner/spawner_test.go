package spawner

import "testing"

func TestCatalogLookup(t *testing.T) {
	c := Catalog{
		{Name: "minecraft", DefaultVariant: "official", Variants: []Variant{{Name: "official"}, {Name: "non_official"}}},
		{Name: "terraria"},
	}
	for _, tc := range []struct {
		game, variant string
		wantGame      string
		wantVariant   string
		ok            bool
	}{
		{"", "", "minecraft", "official", true},
		{"Minecraft", "NON_OFFICIAL", "minecraft", "non_official", true},
		{"terraria", "", "terraria", "", false}, // no variants at all
		{"doom", "", "", "", false},
		{"minecraft", "modded", "minecraft", "", false},
	} {
		t.Run(tc.game+"/"+tc.variant, func(t *testing.T) {
			g, ok := c.Lookup(tc.game)
			if tc.wantGame == "" {
				if ok {
					t.Fatalf("Lookup(%q) found %q", tc.game, g.Name)
				}
				return
			}
			if !ok || g.Name != tc.wantGame {
				t.Fatalf("Lookup(%q) = %q, %v; want %q", tc.game, g.Name, ok, tc.wantGame)
			}
			v, ok := g.Variant(tc.variant)
			if ok != tc.ok || v.Name != tc.wantVariant {
				t.Errorf("Variant(%q) = %q, %v; want %q, %v", tc.variant, v.Name, ok, tc.wantVariant, tc.ok)
			}
		})
	}
}

func TestServerKeyAndAddress(t *testing.T) {
	s := Server{CreationID: "abc", Address: "203.0.113.7", Port: 25565}
	if s.Key() != PendingKeyPrefix+"abc" {
		t.Errorf("pending key = %q", s.Key())
	}
	s.TaskID = "arn:aws:ecs:eu-west-3:1:task/spawner/0123"
	if s.Key() != s.TaskID || s.ShortTaskID() != "0123" {
		t.Errorf("key = %q, task id = %q", s.Key(), s.ShortTaskID())
	}
	if s.HostPort() != "203.0.113.7:25565" {
		t.Errorf("host:port = %q", s.HostPort())
	}
	s.Address = "2001:db8::1"
	if s.HostPort() != "[2001:db8::1]:25565" {
		t.Errorf("IPv6 host:port = %q", s.HostPort())
	}
}
