package spawner

// PullPhase is how far a container runtime got in pulling a game's image.
type PullPhase int

const (
	// PullStarted means the image is not on the host: the pull begins.
	PullStarted PullPhase = iota
	// PullDownloading means layers are being downloaded (PullProgress.Done of
	// Total bytes).
	PullDownloading
	// PullExtracting means every layer is downloaded and being unpacked.
	PullExtracting
	// PullDone means the image is on the host.
	PullDone
)

// PullProgress is what a container runtime tells of an image pull while a
// server's task is being started, for the lifecycle to show its owner in
// their language. It carries facts only, never a sentence.
type PullProgress struct {
	Image string
	Phase PullPhase
	// Done and Total are the bytes downloaded and to download over every
	// layer known so far; set while Phase is PullDownloading.
	Done, Total int64
}
