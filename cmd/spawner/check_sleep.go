package main

// `spawner check`'s look at the ports asleep worlds keep under Docker: an
// asleep world's port that another process took since cannot be answered
// on, and the world's next server cannot have it.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	mcnet "github.com/Tnze/go-mc/net"
	pk "github.com/Tnze/go-mc/net/packet"

	"github.com/mineral-contest/spawner/internal/mcsleep"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// asleepPortsCheck is what checkAsleepPorts found: a summary when nothing
// is wrong, else one problem per world whose port is lost.
type asleepPortsCheck struct {
	ok       string
	problems []string
}

// checkAsleepPorts tries, for each asleep world that keeps a port, to bind
// that port as the bot's listener would (listenAddr). A port that binds is
// free for the bot; a taken one is fine when the bot's own listener is
// what answers there (a running spawner: its status says the world
// sleeps), else it is a problem naming the world and the port. Nothing is
// kept bound.
func checkAsleepPorts(ctx context.Context, worlds []spawner.World, listenAddr func(port int) string) asleepPortsCheck {
	var r asleepPortsCheck
	var free, answered int
	asleep := slices.DeleteFunc(slices.Clone(worlds), func(w spawner.World) bool {
		return w.State != spawner.WorldAsleep || w.Port <= 0
	})
	slices.SortFunc(asleep, func(a, b spawner.World) int { return cmp.Compare(a.ID, b.ID) })
	for _, w := range asleep {
		addr := listenAddr(w.Port)
		err := mcsleep.CanListen(addr)
		switch {
		case err == nil:
			free++
		case errors.Is(err, spawner.ErrPortTaken) && answersAsleep(ctx, w.Port):
			answered++
		case errors.Is(err, spawner.ErrPortTaken):
			r.problems = append(r.problems, fmt.Sprintf("world %s (%q of %s): asleep on port %d, which another process holds: "+
				"free the port, or its next server will get another one (/server create world:%s wakes it)", w.ID, w.Name, w.Owner, w.Port, w.Name))
		default:
			r.problems = append(r.problems, fmt.Sprintf("world %s (%q of %s): asleep on port %d, which cannot be listened on: %v", w.ID, w.Name, w.Owner, w.Port, err))
		}
	}
	switch {
	case len(asleep) == 0:
		r.ok = "asleep worlds' ports: none kept"
	case len(r.problems) == 0:
		r.ok = fmt.Sprintf("asleep worlds' ports: %d free for the bot, %d answered by a running spawner", free, answered)
	}
	return r
}

// answersAsleep reports whether a status ping on this host's port gets the
// bot's own answer for an asleep world (in either language), which tells
// a running spawner's listener from another process.
func answersAsleep(ctx context.Context, port int) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	desc, err := statusDescription(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	for _, lang := range []text.Lang{text.En, text.Fr} {
		asleep, _ := lang.SleepAsleep()
		waking, _ := lang.SleepWaking()
		if strings.Contains(desc, asleep) || strings.Contains(desc, waking) {
			return true
		}
	}
	return false
}

// statusDescription is the text of the description a Minecraft status
// ping on addr gets (the handshake and the status request, no ping).
func statusDescription(ctx context.Context, addr string) (desc string, err error) {
	defer func() { // whatever answers is hostile until parsed
		if r := recover(); r != nil {
			err = fmt.Errorf("status of %s: %v", addr, r)
		}
	}()
	conn, err := (*mcnet.Dialer)(&net.Dialer{}).DialMCContext(ctx, addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.Socket.SetDeadline(deadline)
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.ParseUint(port, 10, 16)
	if err := conn.WritePacket(pk.Marshal(0x00, pk.VarInt(-1), pk.String(host), pk.UnsignedShort(p), pk.VarInt(1))); err != nil {
		return "", err
	}
	if err := conn.WritePacket(pk.Marshal(0x00)); err != nil {
		return "", err
	}
	var answer pk.Packet
	var status pk.String
	if err := conn.ReadPacket(&answer); err != nil {
		return "", err
	}
	if err := answer.Scan(&status); err != nil {
		return "", err
	}
	var st struct {
		Description chatText `json:"description"`
	}
	if err := json.Unmarshal([]byte(status), &st); err != nil {
		return "", err
	}
	return st.Description.String(), nil
}

// chatText is a chat component as a status carries it: a string, or an
// object with text and extra components.
type chatText struct {
	Text  string     `json:"text"`
	Extra []chatText `json:"extra"`
}

func (c *chatText) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &c.Text)
	}
	type plain chatText
	return json.Unmarshal(b, (*plain)(c))
}

// String is the component's text, its extras' after it.
func (c chatText) String() string {
	s := c.Text
	for _, e := range c.Extra {
		s += e.String()
	}
	return s
}

// checkAsleepWorlds checks the ports of the asleep worlds in the store,
// as check read it once for every check of its records (stored: the
// table's, else the data folder's; nil when it was not read, the data
// folder in use by a running spawner, which answers on them). It returns
// nil when the worlds could not be read: the store's own section tells
// why.
func checkAsleepWorlds(ctx context.Context, a *adapters, stored *spawner.Snapshot) *asleepPortsCheck {
	if stored == nil {
		return nil
	}
	r := checkAsleepPorts(ctx, stored.Worlds, a.docker.ListenAddress)
	return &r
}

// addAsleep records what checkAsleepPorts found.
func (r *checkResult) addAsleep(c asleepPortsCheck) {
	if c.ok != "" {
		r.ok = append(r.ok, c.ok)
	}
	r.problems = append(r.problems, c.problems...)
}
