"""Debian's GStreamer RTSP server as a third-party camera: each path streams a video file (MP4, H.264 or H.265)
from its start to each client, through GStreamer's own parsers and payloaders (parameter sets in-band before
every keyframe, as cameras send them); `jpeg=FPS` is an MJPEG camera, `live264=FPS` a live H.264 one. Run with
the system Python (it needs python3-gi):
    /usr/bin/python3 tests/gst_rtsp_server.py PORT h264=/path/a.mp4 h265=/path/b.mp4 jpeg=10
Prints "ready" once it listens."""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

PIPELINES = {
    "h264": "( filesrc location={} ! qtdemux ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )",
    "h265": "( filesrc location={} ! qtdemux ! h265parse config-interval=-1 ! rtph265pay name=pay0 pt=96 )",
    # An MJPEG camera over RTSP (RFC 2435), from GStreamer's test pattern; the argument is its frame rate.
    "jpeg": "( videotestsrc is-live=true ! video/x-raw,format=I420,width=320,height=240,framerate={}/1 ! jpegenc ! "
            "rtpjpegpay name=pay0 pt=26 )",
    # A live H.264 camera (GStreamer's test pattern through x264, a keyframe a second); the argument is its rate.
    "live264": "( videotestsrc is-live=true ! video/x-raw,format=I420,width=640,height=360,framerate={0}/1 ! "
               "x264enc tune=zerolatency speed-preset=ultrafast key-int-max={0} ! h264parse config-interval=-1 ! "
               "rtph264pay name=pay0 pt=96 )",
}


def main() -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(sys.argv[1])
    mounts = server.get_mount_points()
    for arg in sys.argv[2:]:
        codec, _, path = arg.partition("=")
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(PIPELINES[codec].format(path))
        mounts.add_factory("/" + codec, factory)
    server.attach(None)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
