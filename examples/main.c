/*  main.c: prokit-example-main, the main process of the seed's IPC page.

        initIpc()                                   prokit_main_new()
        onMsgFromRender((_e, args) => ...)          prokit_main_on_request()
        mainMsgToRender("main", "Message ...")      prokit_main_send()

    Start it first, then prokit-example-window and prokit-example-work, each
    in a terminal of its own. All three meet on $PROKIT_ENDPOINT, else on the
    default endpoint of the app "prokit-demo". Ctrl-C stops it.
*/
#include <prokit.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static prokit_main_t *s_ipc; //  for the signal handler

static void
s_on_signal (int signum)
{
    (void) signum;
    prokit_main_stop (s_ipc); //  safe from a signal handler
}

static void
s_handle_signals (void (*handler) (int))
{
    struct sigaction action = { .sa_handler = handler };
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
}

static const char *
s_text (const prokit_payload_t *payload)
{
    const char *text = prokit_payload_str (payload);
    return text ? text : "(not a string)";
}

//  onMsgFromRender((_e: Electron.IpcMainEvent, args: unknown) => {
//    return `Main has received data: ${args}`;
//  });
static prokit_payload_t *
s_on_msg_from_render (prokit_request_t *request, void *arg)
{
    (void) arg;
    const char *args = s_text (prokit_request_payload (request));
    printf ("[main] window \"%s\" asks: %s\n", prokit_request_sender (request), args);
    prokit_payload_t *reply = prokit_payload_new_printf ("Main has received data: %s", args);
    printf ("[main] reply: %s\n", s_text (reply));
    return reply; //  the return value is the reply
}

//  Presence: main learns when a window joins or leaves.
static void
s_on_presence (const prokit_presence_t *event, void *arg)
{
    if (event->kind == PROKIT_PRESENCE_EXITED)
        return; //  a process main started ended: its LEFT says the rest
    const char *window = event->window;
    bool joined = event->kind == PROKIT_PRESENCE_JOINED;
    prokit_main_t *ipc = (prokit_main_t *) arg;
    printf ("[main] window \"%s\" %s\n", window, joined ? "joined" : "left");
    if (joined && strcmp (window, "main") == 0) {
        //  mainMsgToRender("main", "Message from Main Process");
        printf ("[main] to window \"main\": Message from Main Process\n");
        prokit_payload_t *message = prokit_payload_new_string ("Message from Main Process");
        int rc = prokit_main_send (ipc, "main", &message);
        prokit_payload_destroy (&message); //  not sent: still ours (NULL-safe)
        if (rc != PROKIT_OK)
            printf ("[main] send failed: %s (%s)\n", prokit_error_name (rc), prokit_strerror (rc));
    }
}

int
main (void)
{
    setvbuf (stdout, NULL, _IOLBF, 0);

    //  initIpc();
    prokit_main_opts_t opts;
    prokit_main_opts_init (&opts);
    opts.app_name = "prokit-demo"; //  the endpoint, unless $PROKIT_ENDPOINT is set
    int rc;
    prokit_main_t *ipc = prokit_main_new (&opts, &rc);
    if (!ipc) {
        fprintf (stderr, "[main] initIpc failed: %s (%s)\n", prokit_error_name (rc),
                 prokit_strerror (rc));
        return 1;
    }
    prokit_main_on_request (ipc, s_on_msg_from_render, NULL);
    prokit_main_on_presence (ipc, s_on_presence, ipc);

    s_ipc = ipc;
    s_handle_signals (s_on_signal);

    printf ("[main] listening on %s (Ctrl-C to stop)\n", prokit_main_endpoint (ipc));
    rc = prokit_main_run (ipc, -1); //  callbacks run here, on this thread
    s_handle_signals (SIG_DFL);     //  before the handle goes away
    prokit_main_destroy (&ipc);
    return rc == PROKIT_OK ? 0 : 1;
}
